"""`python -m {{ cookiecutter.package }}`: run the service until SIGTERM."""

import sys

from streamforge_utils import run_service

from {{ cookiecutter.package }}.app import main

sys.exit(run_service(main))
