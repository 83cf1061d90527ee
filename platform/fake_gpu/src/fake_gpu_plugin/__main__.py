from fake_gpu_plugin.cli import main

raise SystemExit(main())
