import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.cli import build_parser, dispatch, iso_date, positive_int, whole_number


def test_positive_int_accepts_whole_numbers_above_zero():
    assert positive_int("25") == 25


@pytest.mark.parametrize("text", ["0", "-3", "2.5", "many"])
def test_positive_int_rejects_the_rest_naming_the_value(text):
    with pytest.raises(argparse.ArgumentTypeError, match=repr(text).replace(".", r"\.")):
        positive_int(text)


def test_whole_number_accepts_zero_and_above():
    assert (whole_number("0"), whole_number("64")) == (0, 64)


@pytest.mark.parametrize("text", ["-1", "2.5", "none"])
def test_whole_number_rejects_the_rest_naming_the_value(text):
    with pytest.raises(
        argparse.ArgumentTypeError, match=repr(text).replace(".", r"\.") + r" is not a whole number \(0"
    ):
        whole_number(text)


def test_iso_date_rejects_other_forms():
    with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD"):
        iso_date("30/06/2026")


def test_dispatch_prints_a_bad_value_as_one_line_and_exits_2(capsys):
    def handler(args):
        raise ValueError(f"--size must be small, not {args.size}")

    parser = build_parser("t", "", {"go": ("go", handler, [("--size", {"type": positive_int})])})
    assert dispatch(parser, ["go", "--size", "9"], ()) == 2
    assert capsys.readouterr().err == "error: --size must be small, not 9\n"
    with pytest.raises(SystemExit) as exited:
        dispatch(parser, ["go", "--size", "0"], ())
    assert exited.value.code == 2
    assert "'0' is not a positive whole number" in capsys.readouterr().err


def test_every_stage_takes_full_refresh_and_hands_it_to_the_run(monkeypatch):
    from commands import cli
    from jobs import common

    started = {}

    def start_run(config, app, as_of, run_id, *, master_given, full_refresh, writer, extra_conf=None):  # type: ignore[no-untyped-def]
        started[app] = (full_refresh, writer)
        raise ValueError("stop before Spark")

    monkeypatch.setattr(common, "start_run", start_run)
    assert cli.main(["silver", "--full-refresh", "--root", "unused"]) == 2
    assert cli.main(["features", "--root", "unused"]) == 2
    assert started == {"lakehouse-silver": (True, True), "lakehouse-features": (False, True)}


def test_any_failure_is_one_line_and_debug_prints_the_trace(capsys, tmp_path):
    def handler(args):
        return len(open(tmp_path / "missing.csv").read())

    parser = build_parser("t", "", {"go": ("go", handler, [])})
    assert dispatch(parser, ["go"], ()) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("error: FileNotFoundError: [Errno 2] No such file or directory:")
        and "missing.csv" in err
    )
    assert err.endswith("(--debug prints the trace)\n") and err.count("\n") == 1
    with pytest.raises(FileNotFoundError):
        dispatch(parser, ["go", "--debug"], ())


def test_a_jvm_failure_is_named_by_its_first_line(spark, capsys):
    def handler(args):
        return spark.sql("SELECT 1/0 AS x").collect()[0]["x"]

    parser = build_parser("t", "", {"go": ("go", handler, [])})
    assert dispatch(parser, ["go"], ()) == 1
    err = capsys.readouterr().err
    assert "DIVIDE_BY_ZERO" in err and err.count("\n") == 1, err


WAITING = """
import argparse, sys, time
from pipelines.cli import guarded
def waiting(args):
    print("ready", flush=True)
    time.sleep(20)
    return 0
sys.exit(guarded(waiting, argparse.Namespace()))
"""


def test_a_running_command_prints_its_threads_on_sigusr1_and_goes_on():
    process = subprocess.Popen(
        [sys.executable, "-c", WAITING], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    os.kill(process.pid, signal.SIGUSR1)
    time.sleep(1)
    assert process.poll() is None  # still running
    process.terminate()
    _, err = process.communicate(timeout=30)
    assert "most recent call first" in err and "in waiting" in err


MODEL_STACK = ("mlflow", "sklearn", "scipy", "matplotlib", "duckdb")


@pytest.mark.parametrize("command", ["--help", "ingest", "silver", "features"])
def test_commands_that_train_nothing_do_not_load_the_model_stack(command):
    # a process of its own: this one has imported everything; a bad config value stops each stage
    # after its job is imported and before Spark starts
    probe = (
        "import sys\nfrom commands import cli\ntry:\n    cli.main([sys.argv[1], '--root', 'unused'])\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted(m for m in {MODEL_STACK!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, command], capture_output=True, text=True, timeout=120,
        env={**os.environ, "LAKEHOUSE_MODEL_CV_FOLDS": "many"},
    )  # fmt: skip
    assert done.stdout.splitlines()[-1] == "[]", done.stdout + done.stderr
    if command != "--help":
        assert done.stderr == "error: config key 'model.cv_folds': cannot use 'many' " + (
            "(invalid literal for int() with base 10: 'many')\n"
        )


def test_every_stage_s_help_is_the_first_line_of_its_job_s_docstring():
    import importlib

    from commands import cli

    for name, module in cli.STAGES.items():
        run = importlib.import_module(module).run
        first = run.__doc__.splitlines()[0].rstrip(".")
        assert cli._help(module) == first[0].lower() + first[1:], name


def test_progress_goes_to_stdout_and_errors_to_stderr_where_a_scheduler_looks():
    code = (
        "from pipelines.log import get_logger; log = get_logger(); "
        "log.info('progress'); log.warning('a warning'); log.error('REJECTED bronze.orders: a file')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert [line.split(" ", 1)[1] for line in done.stdout.splitlines()] == ["progress", "a warning"]
    assert [line.split(" ", 1)[1] for line in done.stderr.splitlines()] == ["REJECTED bronze.orders: a file"]
