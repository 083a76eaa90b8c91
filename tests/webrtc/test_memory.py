import platform

from webrtc import memory


def test_freed_memory_is_given_back_with_glibc_and_sessions_ending_together_share_one_trim(monkeypatch):
    if platform.libc_ver()[0] == "glibc":
        assert memory._malloc_trim is not None
    calls: list[int] = []
    monkeypatch.setattr(memory, "_malloc_trim", lambda pad: calls.append(pad) or 1)
    monkeypatch.setattr(memory, "_last_trim", 0.0)
    memory.release_freed_memory()
    memory.release_freed_memory()
    assert calls == [0]
