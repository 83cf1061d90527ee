"""`python -m dummy_service`: run the service until SIGTERM."""

import sys

from streamforge_utils import run_service

from dummy_service.app import main

sys.exit(run_service(main))
