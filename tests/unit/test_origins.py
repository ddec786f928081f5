"""Origin policy on real WSGI environs (docs/protocol.rst §6)."""
from __future__ import annotations

from socketio_gevent.protocol.origins import OriginPolicy, split_origin


def env(**headers):
    environ = {"HTTP_HOST": "app.example:8080", "wsgi.url_scheme": "http"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    return environ


def test_split_origin_defaults_ports_by_scheme():
    assert split_origin("https://Example.COM") == ("example.com", 443)
    assert split_origin("http://a:81") == ("a", 81)
    assert split_origin("null") is None
    assert split_origin("ftp://a") is None
    assert split_origin("http://a:notaport") is None


def test_default_is_same_origin_by_host_and_port_not_scheme():
    p = OriginPolicy()
    assert p.check(env(origin="http://app.example:8080")) == (True, "http://app.example:8080", True)
    assert p.check(env(origin="https://app.example:8080")).allowed  # a TLS proxy hides the scheme
    assert not p.check(env(origin="http://app.example:8081")).allowed
    assert not p.check(env(origin="http://evil.example:8080")).allowed
    assert not p.check(env(origin="null")).allowed
    assert p.check(env(host="app.example", origin="http://app.example")).allowed


def test_requests_without_origin():
    p = OriginPolicy()
    assert p.check(env()) == (True, None, True)  # non-browser client
    assert not p.check(env(sec_fetch_site="cross-site")).allowed  # and no Referer
    assert not p.check(env(sec_fetch_site="same-site", referer="http://other.example:8080/")).allowed
    assert p.check(env(sec_fetch_site="same-site", referer="http://app.example:8080/x")).allowed
    assert not p.check(env(referer="http://evil.example/")).allowed
    assert p.check(env(sec_fetch_site="same-origin")).allowed
    assert p.check(env(sec_websocket_origin="http://app.example:8080")).allowed


def test_patterns_and_allow_all():
    p = OriginPolicy(["*.example.com:*", "localhost:3000"])
    assert p.check(env(origin="https://a.b.example.com")).allowed
    assert not p.check(env(origin="https://example.com.evil.org")).allowed
    assert p.check(env(origin="http://localhost:3000")).allowed
    assert not p.check(env(origin="http://localhost:3001")).allowed
    assert OriginPolicy("*:*").check(env(origin="http://anything:1")).allowed
    assert OriginPolicy("example.org").check(env(origin="https://example.org:444")).allowed


def test_policy_domains_for_flash():
    assert OriginPolicy().policy_domains() == ["*"]
    assert OriginPolicy("*:*").policy_domains() == ["*"]
    assert OriginPolicy(["a.com:80", "*.b.com:*", "a.com:81"]).policy_domains() == ["a.com", "*.b.com"]


def test_credentials_only_for_origins_the_configuration_names():
    everyone = OriginPolicy("*:*")
    assert everyone.check(env(origin="https://any.where")) == (True, "https://any.where", False)
    assert everyone.check(env(origin="null")) == (True, "null", False)
    named = OriginPolicy(["app.example:*"])
    assert named.check(env(origin="https://app.example")) == (True, "https://app.example", True)
    assert named.check(env(origin="null")).allowed is False


def test_a_known_answer_is_the_answer_a_fresh_policy_gives():
    # The same origin asked about again, under another Host or scheme: the
    # kept answers are per (origin, host, scheme), never one for another.
    asked = [env(origin="http://app.example:8080"), env(origin="http://app.example:8080", host="other:1"),
             dict(env(origin="http://app.example:8080"), **{"wsgi.url_scheme": "https"}),
             env(origin="http://evil.example"), env(referer="http://app.example:8080/page"),
             env(referer="http://evil.example/", sec_fetch_site="cross-site")]
    for origins in (None, ["*.example:*"], ["app.example:8080"], "*:*"):
        policy = OriginPolicy(origins)
        for _ in range(2):
            for environ in asked:
                assert policy.check(environ) == OriginPolicy(origins).check(environ), (origins, environ)


def test_the_answers_kept_are_bounded():
    from socketio_gevent.protocol import origins

    policy = OriginPolicy(None)
    for i in range(origins.MAX_KNOWN * 3):  # a client inventing origins
        assert not policy.check(env(origin="http://o%d.evil.example" % i)).allowed
        assert len(policy._known) <= origins.MAX_KNOWN
    assert policy.check(env(origin="http://app.example:8080")).allowed


def test_a_long_origin_is_answered_and_not_kept():
    # A header may be 64 KiB: keeping 256 such answers would hold 16 MiB.
    from socketio_gevent.protocol import origins

    policy = OriginPolicy(None)
    long_host = "a" * origins.MAX_KNOWN_KEY + ".example"
    assert policy.check(env(origin="http://%s" % long_host, host=long_host)).allowed
    assert not policy.check(env(origin="http://%s" % long_host)).allowed
    assert policy._known == {}
    assert policy.check(env(origin="http://app.example:8080")).allowed
    assert len(policy._known) == 1
