// Command kindfiles writes the two manifests kind's `kind build node-image` puts into a node
// image, /kind/manifests/default-cni.yaml and default-storage.yaml, from the string constants
// defaultCNIManifest and defaultStorageManifest of kind's pkg/build/nodeimage
// (const_cni.go, const_storage.go). The constants are unexported, so they are evaluated with
// go/types from the source files rather than imported.
//
// Usage: kindfiles KIND_MODULE_DIR OUT_DIR. Exits non-zero if a file or constant is missing.
package main

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
)

var outputs = map[string]string{
	"defaultCNIManifest":     "default-cni.yaml",
	"defaultStorageManifest": "default-storage.yaml",
}

func run(kindDir, outDir string) error {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range []string{"const_cni.go", "const_storage.go"} {
		f, err := parser.ParseFile(fset, filepath.Join(kindDir, "pkg/build/nodeimage", name), nil, 0)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	conf := types.Config{Importer: importer.Default()}
	pkg, err := conf.Check("nodeimage", fset, files, nil)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	for name, file := range outputs {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if !ok || c.Val().Kind() != constant.String {
			return fmt.Errorf("kind's pkg/build/nodeimage has no string constant %s", name)
		}
		if err := os.WriteFile(filepath.Join(outDir, file), []byte(constant.StringVal(c.Val())), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: kindfiles KIND_MODULE_DIR OUT_DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "kindfiles:", err)
		os.Exit(1)
	}
}
