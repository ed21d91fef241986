from wmidoctor.knowledge.subscriptions import is_windows_default, path_class, path_keys, payload


def test_object_path_keys_with_or_without_class_and_dots_in_values():
    assert path_keys('__EventFilter.Name="SCM Event Log Filter"') == {"name": "SCM Event Log Filter"}
    assert path_keys('Name="a.b",Id=3') == {"name": "a.b", "id": "3"}
    assert path_keys('X.Name="say \\"hi\\""') == {"name": 'say "hi"'}
    assert path_class('NTEventLogEventConsumer="SCM Event Log Consumer"') == "NTEventLogEventConsumer"


def test_only_command_line_and_script_consumers_run_code():
    assert payload("CommandLineEventConsumer", {"CommandLineTemplate": "cmd /c x"}) == "cmd /c x"
    assert payload("ActiveScriptEventConsumer", {"ScriptFileName": "", "ScriptText": "WScript.Quit"}) == "WScript.Quit"
    assert payload("NTEventLogEventConsumer", {"SourceName": "x"}) == ""


def test_the_windows_default_subscription_is_recognised_only_as_shipped():
    assert is_windows_default("SCM Event Log Consumer", ["SCM Event Log Filter"])
    assert is_windows_default("SCM Event Log Consumer", [])
    assert not is_windows_default("SCM Event Log Consumer", ["ProcessStartTrigger"])


def test_a_full_object_path_is_read_by_its_class_and_keys():
    """XP repositories store bindings with the server and namespace in front (real: repository-xp-libyal)."""
    from wmidoctor.knowledge.subscriptions import path_class, path_keys

    full = '\\\\.\\root\\subscription:__EventFilter.Name="BVTFilter"'
    assert path_class(full) == "__EventFilter" and path_keys(full) == {"name": "BVTFilter"}
    assert path_class('//srv/root/default:NTEventLogEventConsumer.Name="a:b"') == "NTEventLogEventConsumer"
    assert path_keys('ActiveScriptEventConsumer.Name="c:\\\\x"') == {"name": "c:\\x"}
