"""Training progress: a terminal gets a bar redrawn at most every 0.2 s, a log file a plain line
every 30 s (it got a redrawn bar at every step: 3,002 updates, 298 KB for the default job)."""

import io

from eegseq.pipelines.progress import StepProgress

STEPS = 3002


class Terminal(io.StringIO):
    def isatty(self):
        return True


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_log_file_gets_a_plain_line_every_30_s_and_one_at_the_end():
    log, clock = io.StringIO(), FakeClock()
    progress = StepProgress(STEPS, enabled=True, stream=log, clock=clock)
    for _ in range(STEPS):
        clock.now += 0.0625  # 187.6 s in all
        progress.update(loss="0.4321")
    progress.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 7  # at 30, 60, ..., 180 s, and the last step's at close
    assert "\r" not in log.getvalue()
    assert lines[0] == "step 480/3002 (16%) 30 s, 16.00 step/s, 158 s left loss=0.4321"
    assert lines[-1] == f"step {STEPS}/{STEPS} (100%) 188 s, 16.00 step/s loss=0.4321"


def test_a_resumed_run_counts_from_its_step_and_close_writes_the_last_line():
    log, clock = io.StringIO(), FakeClock()
    progress = StepProgress(100, initial=40, enabled=True, stream=log, clock=clock)
    for _ in range(10):
        clock.now += 1.0
        progress.update()
    progress.close()
    assert log.getvalue() == "step 50/100 (50%) 10 s, 1.00 step/s, 50 s left\n"


def test_a_terminal_bar_is_redrawn_at_most_every_0_2_s():
    terminal = Terminal()
    progress = StepProgress(STEPS, enabled=True, stream=terminal)
    for _ in range(STEPS):  # well under a second
        progress.update(loss="0.4321")
    progress.close()
    redraws = terminal.getvalue().count("\r")
    assert redraws < 20, redraws
    assert f"{STEPS}/{STEPS}" in terminal.getvalue()


def test_disabled_writes_nothing():
    for stream in (io.StringIO(), Terminal()):
        progress = StepProgress(10, enabled=False, stream=stream, interval=0.0)
        progress.update()
        progress.close()
        assert stream.getvalue() == ""
