#!/usr/bin/env python
"""Django's command-line utility for the Pilot Control Plane."""

import os
import sys


def main() -> None:
    from config.env import settings_module

    if not os.environ.get("DJANGO_SETTINGS_MODULE"):  # unset or empty
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
