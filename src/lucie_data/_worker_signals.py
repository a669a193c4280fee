"""Makes the build's worker processes ignore SIGINT. Imported only by datatrove's forkserver, through
``runner.FORKSERVER_PRELOAD``: never import it anywhere else, or that process stops answering Ctrl-C.

Why: Ctrl-C, or ``timeout -s INT``, signals the whole process group. The main process then stops the build
("interrupted: rerun the same command to resume") and its pool terminates the workers; but a worker interrupted
mid-task also raised KeyboardInterrupt and printed its traceback (rule 3: never a traceback). The forkserver
records its signal handlers after importing its preload and restores them in every process it forks
(multiprocess/forkserver.py ``main`` and ``_serve_one``), so SIGINT ignored here is ignored by every worker,
and by nothing else.
"""
import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
