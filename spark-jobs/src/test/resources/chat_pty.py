"""Drives `rlhf chat` through a real pseudo-terminal, as a person would: types lines, reads what the
program prints as it prints it, ends with Ctrl-D. Prints one JSON object: the transcript (as the
terminal showed it) and the exit status. Used by ChatCommandTest."""
import json
import os
import pty
import select
import sys
import time

java, classpath, model = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execv(java, [java, "-Xmx512m", "-Dorg.bytedeco.javacpp.logger=slf4j", "-Dorg.slf4j.simpleLogger.log.org.bytedeco.javacpp=error",
                    "-Dlog4j2.level=error", "-cp", classpath, "org.sparkrlhf.jobs.ChatCommand", model,
                    "--temperature", "0", "--max-new-tokens", "12"])

out = b""


def read_until(pattern, start, timeout=90):
    """Reads until `pattern` appears after offset `start`; returns the offset just past it."""
    global out
    end = time.time() + timeout
    while True:
        i = out.find(pattern.encode(), start)
        if i >= 0:
            return i + len(pattern)
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.time()))
        if not r:
            raise SystemExit("timed out waiting for %r; the terminal showed: %r" % (pattern, out[-2000:]))
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            raise SystemExit("the program ended while waiting for %r; the terminal showed: %r" % (pattern, out[-2000:]))
        out += data


def say(line, pos):
    os.write(fd, line.encode() + b"\n")
    return read_until("you> ", pos)


pos = read_until("you> ", 0)
steps = []
for line in ["hello there", "/set temperature 0.5", "/set top-p 7", "/set temperature 0", "tell me more about it please",
             "/reset", "hello there"]:
    start = pos
    pos = say(line, pos)
    steps.append({"typed": line, "shown": out[start:pos].decode("utf-8", "replace")})
start = pos
os.write(fd, b"\x04")  # Ctrl-D at the start of a line: end of input
try:
    read_until("bye", start)
except SystemExit:
    pass
_, status = os.waitpid(pid, 0)
print(json.dumps({"steps": steps, "end": out[start:].decode("utf-8", "replace"), "exit": os.waitstatus_to_exitcode(status)}))
