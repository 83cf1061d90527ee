"""StreamForge platform toolkit: model -> render -> plan -> execute."""
