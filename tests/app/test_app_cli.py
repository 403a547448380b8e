"""`dalpsr-app`'s command line: bad options, builds, model folders and ports fail before any
model loads, with one line naming the option; --help does not import gradio."""

from __future__ import annotations

import socket
import subprocess
import sys

from typer.testing import CliRunner

from dalpsr_model.cli.app import app
from tests.app.conftest import ROOT, app_args, free_port, start_server
from tests.sr.conftest import smooth_image


def _base(models):
    return ["--base", str(models["base"]), "--controlnet", str(models["controlnet"]), "--irpad",
            str(models["irpad"]), "--device", "cpu", "--port", "0"]


def test_bad_options_exit_2_before_loading_anything(app_models, tmp_path):
    cases = [([], "--base"),
             (["--base", str(app_models["base"]), "--controlnet", str(app_models["controlnet"])], "--irpad"),
             (_base(app_models) + ["--shards", str(tmp_path / "nowhere")], "--shards"),
             (_base(app_models)[:-2] + ["--port", "70000"], "--port"),
             (_base(app_models) + ["--device", "tpu"], "--device"),
             (["--base", str(tmp_path), "--controlnet", str(app_models["controlnet"]), "--irpad",
               str(app_models["irpad"]), "--device", "cpu", "--port", "0"], str(tmp_path)),
             (_base(app_models) + ["--llava", str(tmp_path), "--ram-checkpoint", str(tmp_path / "r.pth"),
                                  ], "LLaVA")]
    for args, word in cases:
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2 and word in r.output, (args, r.output)
        assert r.output.count("\n") == 1, r.output                       # one line


def test_a_port_in_use_is_refused_before_work(app_models):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = CliRunner().invoke(app, _base(app_models)[:-2] + ["--port", str(port)])
    assert r.exit_code == 2 and f"127.0.0.1:{port}" in r.output and "--port" in r.output


def test_help_does_not_import_gradio():
    code = ("import sys; from typer.testing import CliRunner; from dalpsr_model.cli.app import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0 and '--offload' in r.output; "
            "print('gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ctrl_c_during_a_job_stops_it_at_its_next_step_with_one_line(app_models, tmp_path):
    """The job thread leaves torch before the process exits (exiting inside it aborted the
    process with "terminate called without an active exception")."""
    import signal
    import time

    from gradio_client import Client, handle_file
    from PIL import Image

    server = start_server(app_args(app_models, "--port", str(free_port())))
    try:
        lr = tmp_path / "long.png"
        Image.fromarray(smooth_image(3, 32, 32)).save(lr)
        job = Client(server.url, verbose=False, download_files=str(tmp_path)).submit(
            handle_file(str(lr)), "Deblur with sigma 0~0.25", "", "", 500, 5.5, 0, "ddpm", 96, 32, "adain",
            api_name="/super_resolve")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:   # until denoising has begun
            units = job.status().progress_data or []
            if any(u.length for u in units):
                break
            time.sleep(0.05)
        assert not job.done(), "the job ended before the test could interrupt it"
        server.proc.send_signal(signal.SIGINT)
        assert server.proc.wait(timeout=60) == 130, "".join(server.lines)
        time.sleep(0.2)
        after = "".join(server.lines).split("temporary files in")[-1].splitlines()[1:]
        assert [ln for ln in after if ln.strip()] == ["interrupted"], after
        assert not server.tmp.exists()
    finally:  # a failed check must not leave the server running
        if server.proc.poll() is None:
            server.proc.kill()
