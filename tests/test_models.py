"""load_mlm: local folders, the offline failure path, devices and dtypes."""

import shutil
import socket
import threading
import time

import pytest
import torch

from helpers import ModelNotAvailableError, load_mlm, resolve_device
from helpers.hub import hub_reachable
from helpers.models import locally_available_models


def test_local_folder_loads_with_eager_attention(tiny_model_dir, tiny_model):
    model, tokenizer = load_mlm(tiny_model_dir, device="cpu")
    assert model.config._attn_implementation == "eager"
    assert not model.training
    ids = torch.tensor([tokenizer.encode("the movie was [MASK] .")])
    with torch.no_grad():
        out = model(input_ids=ids, output_attentions=True)
        reference = tiny_model(input_ids=ids).logits
    assert len(out.attentions) == 2 and out.attentions[0].shape == (1, 2, ids.shape[1], ids.shape[1])
    torch.testing.assert_close(out.logits, reference)


def test_dtype_is_applied_and_checked(tiny_model_dir):
    model, _ = load_mlm(tiny_model_dir, device="cpu", dtype="bfloat16")
    assert next(model.parameters()).dtype == torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        load_mlm(tiny_model_dir, device="cpu", dtype="float8")


@pytest.fixture()
def no_proxies(monkeypatch):
    for name in ("HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                 "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_unknown_name_offline_fails_fast_and_lists_what_is_local(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not hub_reachable()
    start = time.monotonic()
    with pytest.raises(ModelNotAvailableError) as err:
        load_mlm("no-such-org/no-such-model", device="cpu")
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert "no-such-org/no-such-model" in message and "offline" in message
    assert "None (the default" in message and "save_pretrained" in message


def test_unreachable_hub_counts_as_offline(no_proxies):
    no_proxies.setenv("HF_ENDPOINT", "https://hub.invalid")
    start = time.monotonic()
    assert not hub_reachable(timeout=1.0)
    assert time.monotonic() - start < 5


def test_local_listing_always_offers_the_default():
    assert locally_available_models()[0].startswith("None (the default")


@pytest.mark.parametrize(("cuda", "mps", "expected"), [(True, True, "cuda"), (False, True, "mps"),
                                                      (False, False, "cpu")])
def test_auto_takes_cuda_then_mps_then_the_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.delenv("PROMPTLAB_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("PROMPTLAB_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu"), "the variable wins over MPS and CUDA"


def test_asking_for_a_missing_gpu_says_so(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        resolve_device("cuda")


def _copy(folder, tmp_path, leave_out=(), replace=None):
    target = tmp_path / "model"
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns(*leave_out))
    for name, text in (replace or {}).items():
        (target / name).write_text(text)
    return target


@pytest.mark.parametrize("leave_out, replace, message", [
    (("*",), None, "no config.json; no weights .*; no tokenizer files"),
    ((), {"config.json": "{not json"}, "config.json is not valid JSON"),
    ((), {"config.json": "{}"}, "config.json has no \"model_type\""),
    (("model.safetensors",), None, r"no weights \(one of model.safetensors"),
    (("vocab.txt", "tokenizer.json"), None, "no tokenizer files"),
])
def test_a_folder_that_is_not_a_model_says_what_is_missing(tiny_model_dir, tmp_path, leave_out, replace, message):
    folder = _copy(tiny_model_dir, tmp_path, leave_out, replace)
    with pytest.raises(ModelNotAvailableError, match=f"folder '{folder}' is not a saved model: .*{message}"):
        load_mlm(folder, device="cpu")


def test_a_folder_whose_weights_do_not_load_names_it(tiny_model_dir, tmp_path):
    folder = _copy(tiny_model_dir, tmp_path, replace={"model.safetensors": "not weights"})
    with pytest.raises(ModelNotAvailableError, match=f"folder '{folder}' could not be loaded"):
        load_mlm(folder, device="cpu")


def test_a_path_that_is_not_a_folder_is_not_sent_to_the_hub(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="is not a folder"):
        load_mlm(str(tmp_path / "missing" / "model"), device="cpu")


class _Listener:
    """A loopback server that answers each connection with ``reply`` and records what it got."""

    def __init__(self, reply: bytes):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = []
        self.thread = threading.Thread(target=self._serve, args=(reply,), daemon=True)
        self.thread.start()

    def _serve(self, reply):
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                self.received.append(connection.recv(1024))
                connection.sendall(reply)

    def close(self):
        self.server.close()


def test_hub_endpoint_port_is_the_one_dialled(no_proxies):
    hub = _Listener(b"")
    try:
        no_proxies.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.port}")
        assert hub_reachable(timeout=2.0)
    finally:
        hub.close()


@pytest.mark.parametrize("answer, reachable", [(b"HTTP/1.1 200 Connection established\r\n\r\n", True),
                                               (b"HTTP/1.1 403 Forbidden\r\n\r\n", False)])
def test_a_proxy_is_asked_to_open_a_tunnel_to_the_hub(no_proxies, answer, reachable):
    proxy = _Listener(answer)
    try:
        no_proxies.setenv("HF_ENDPOINT", "https://hub.invalid")  # unresolvable: only the proxy can reach it
        no_proxies.setenv("HTTPS_PROXY", f"http://user:secret@127.0.0.1:{proxy.port}")
        assert hub_reachable(timeout=2.0) is reachable
        request = proxy.received[0].decode()
        assert request.startswith("CONNECT hub.invalid:443 HTTP/1.1\r\n")
        assert "Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=" in request
    finally:
        proxy.close()


def test_no_proxy_sends_the_check_past_the_proxy(no_proxies):
    hub, proxy = _Listener(b""), _Listener(b"HTTP/1.1 403 Forbidden\r\n\r\n")
    try:
        no_proxies.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.port}")
        no_proxies.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        no_proxies.setenv("NO_PROXY", "127.0.0.1")
        assert hub_reachable(timeout=2.0)
        assert proxy.received == []
    finally:
        hub.close()
        proxy.close()


def test_device_variable_pins_auto_but_not_an_explicit_device(monkeypatch):
    monkeypatch.setenv("PROMPTLAB_DEVICE", "cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device() == torch.device("cpu")
    monkeypatch.setenv("PROMPTLAB_DEVICE", "meta")  # a device no machine picks on its own
    assert resolve_device("auto") == torch.device("meta")
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setenv("PROMPTLAB_DEVICE", "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


def test_device_variable_errors_name_the_variable(monkeypatch):
    monkeypatch.setenv("PROMPTLAB_DEVICE", "gpu")
    with pytest.raises(ValueError, match=r"\$PROMPTLAB_DEVICE='gpu' is not a device"):
        resolve_device("auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("PROMPTLAB_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="unset PROMPTLAB_DEVICE"):
        resolve_device("auto")


def test_test_configuration_pins_notebooks_to_the_cpu_unless_told_otherwise():
    # tests/conftest.py sets this at import, before nbval starts any kernel, so kernels inherit it
    import os

    assert os.environ.get("PROMPTLAB_DEVICE")
