from wmidoctor.knowledge.defaults import ABSENT_OBJECT_PROBE_NOISE_LIMIT, is_benign_client_failure

NOT_FOUND, INVALID_CLASS, CANCELLED, ACCESS_DENIED = 0x80041002, 0x80041010, 0x80041032, 0x80041003


def test_cancelled_calls_are_always_harmless():
    assert is_benign_client_failure(CANCELLED, [("ExecQuery", 10_000)])


def test_deleting_what_is_already_gone_is_harmless_however_often():
    assert is_benign_client_failure(NOT_FOUND, [("DeleteInstance", 500)])


def test_a_few_probes_are_noise_but_many_are_a_dependency_on_something_missing():
    few = ABSENT_OBJECT_PROBE_NOISE_LIMIT - 1
    assert is_benign_client_failure(INVALID_CLASS, [("ExecQuery", few)])
    assert not is_benign_client_failure(INVALID_CLASS, [("ExecQuery", few), ("GetObject", 1)])
    assert not is_benign_client_failure(NOT_FOUND, [("DeleteInstance", 500), ("GetObject", 50)])


def test_access_denied_is_never_noise():
    assert not is_benign_client_failure(ACCESS_DENIED, [("ExecQuery", 1)])
