# -*- coding: utf-8 -*-
# Copyright: cachewarden contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip.py script that ansible-test downloads to bootstrap pip.

ansible-test creates each sanity-test virtualenv without pip and then runs a cached
``get_pip_<version>.py`` with pip's install arguments (``pip==X --no-setuptools ...``).
That script comes from a host CI cannot reach, so `make sanity` installs this one in the
cache instead: it puts the interpreter's bundled pip in place with ``ensurepip`` and then
lets that pip install the requested packages from the configured package index.
"""

from __future__ import annotations

import subprocess
import sys

# Options that only get-pip.py understands; the bundled pip installs no setuptools/wheel anyway.
GET_PIP_ONLY = ('--no-setuptools', '--no-wheel')


def main() -> None:
    """Bootstrap pip, then install what ansible-test asked for."""
    subprocess.run([sys.executable, '-m', 'ensurepip', '--default-pip'], check=True, stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet'] + args, check=True)


if __name__ == '__main__':
    main()
