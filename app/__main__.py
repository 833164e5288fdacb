from app.core.memory import tune_allocator

tune_allocator()   # before anything allocates: large freed blocks go back to the OS

from app.cli import main  # noqa: E402

raise SystemExit(main())
