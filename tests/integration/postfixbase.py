# postfixbase.py - what the tests' private Postfix instances share:
# reading the mail log, and stopping the instance (postfix stop, then the
# master confirmed gone by its PID). Subclasses set self.cf (the config
# directory), self.maillog and self.pid.
# SPDX-License-Identifier: BSD-2-Clause

import os
import subprocess
import time


class PostfixError(Exception):
    """A private Postfix instance could not be started or stopped."""


class PostfixBase:
    def log(self):
        try:
            return self.maillog.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """postfix stop, then make sure the master is gone (by PID)."""
        if self.pid is None:
            return
        subprocess.run(["postfix", "-c", str(self.cf), "stop"],
                       capture_output=True, timeout=60)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.pid = None
                return
            time.sleep(0.05)
        os.kill(self.pid, 9)
        raise PostfixError("the Postfix master (pid %d) did not stop" %
                           self.pid)
