import pytest

from finegate.harness import InputError, PluginRegistry


def test_register_lookup_and_suggestions():
    things: PluginRegistry[int] = PluginRegistry("widget")

    @things.decorator("alpha")
    def alpha():
        return 1

    things.register("beta", 2)
    assert things.get("alpha") is alpha and things.get("beta") == 2
    assert things.names() == ["alpha", "beta"] and "beta" in things
    with pytest.raises(ValueError, match="already registered"):
        things.register("beta", 3)
    things.register("beta", 3, replace=True)
    assert things.get("beta") == 3
    with pytest.raises(InputError) as err:
        things.get("alpah", file="x.yaml", line=4, field="widgets[0]")
    assert str(err.value) == (
        "x.yaml:4: widgets[0]: unknown widget 'alpah'; did you mean 'alpha'? known: alpha, beta"
    )


def test_entry_points_supply_plugins():
    providers: PluginRegistry[object] = PluginRegistry("suite provider", "finegate.suites")
    assert "builtin" in providers.names()
    catalog = providers.get("builtin")()
    assert "task/support_triage" in catalog
