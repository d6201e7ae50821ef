/*
 * test_config.c - the daemon configuration: every key of the table has a
 * valid default and help, the shipped file parses and documents every key,
 * -o overrides, and each kind of mistake is reported at file:line:col.
 * Also the scope decisions built from it (outgoing? internal recipient?).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hostname.h"
#include "scope.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

static void test_table_defaults(void **state)
{
	(void)state;
	struct config cfg;
	config_init(&cfg);
	for (size_t i = 0; i < config_key_count; i++) {
		const struct config_key *k = &config_keys[i];
		assert_non_null(k->help);
		assert_true(strlen(k->help) > 10);
		assert_ptr_equal(config_find(k->name), k);
		/* A formatted value is accepted back by -o. */
		char *v = config_format(&cfg, k);
		char *o = g_strdup_printf("%s=%s", k->name, v);
		char *err = NULL;
		if (!config_set(&cfg, o, &err))
			fail_msg("%s: %s", o, err);
		char *again = config_format(&cfg, k);
		assert_string_equal(v, again);
		g_free(again);
		g_free(o);
		g_free(v);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(config_keys[j].name, k->name);
	}
	assert_string_equal(cfg.socket, "unix:/run/apology-milter/milter.sock");
	assert_int_equal(cfg.on_error, ON_ERROR_ACCEPT);
	assert_int_equal(cfg.mode, MODE_ENFORCE);
	assert_int_equal(cfg.max_message_size, 10 * 1024 * 1024);
	assert_int_equal(cfg.drain_timeout, 30);
	/* libmilter's: Postfix sends nothing while its client sends DATA, and a
	 * connection closed then lets the message through unjudged */
	assert_int_equal(cfg.milter_timeout, 7210);
	assert_int_equal(cfg.queue_timeout, 120);
	assert_int_equal(cfg.socket_mode, 0660);
	assert_int_equal(cfg.daemon_names->len, 2);
	config_clear(&cfg);
}

static char *read_shipped(void)
{
	char *text = NULL;
	if (!g_file_get_contents(SRCDIR "/packaging/apology-milter.yaml", &text, NULL, NULL))
		fail_msg("cannot read packaging/apology-milter.yaml");
	return text;
}

static void test_shipped_file(void **state)
{
	(void)state;
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	if (!config_load(&cfg, SRCDIR "/packaging/apology-milter.yaml", &err))
		fail_msg("%s", err);
	assert_string_equal(cfg.user, "apology-milter");
	assert_int_equal(cfg.internal_domains->len, 1);
	config_clear(&cfg);

	/* Every key is documented in the shipped file. */
	char *text = read_shipped();
	for (size_t i = 0; i < config_key_count; i++) {
		const char *name = config_keys[i].name;
		const char *leaf = strrchr(name, '.');
		char *needle = g_strdup_printf("%s:", leaf ? leaf + 1 : name);
		if (strstr(text, needle) == NULL)
			fail_msg("packaging/apology-milter.yaml does not mention %s", name);
		g_free(needle);
	}
	g_free(text);
}

/* The metrics address: numeric IPv4 or [IPv6] with a port; whether it is
 * loopback decides whether metrics-allow-remote is needed (metrics_http.c). */
static void test_metrics_address(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		bool valid, loopback;
	} cases[] = {
	    {"127.0.0.1:9257", true, true},   {"127.3.4.5:1", true, true},
	    {"[::1]:9257", true, true},       {"10.0.0.1:9257", true, false},
	    {"0.0.0.0:9257", true, false},    {"[2001:db8::1]:9257", true, false},
	    {"localhost:9257", false, false}, {"127.0.0.1", false, false},
	    {"127.0.0.1:0", false, false},    {"127.0.0.1:65536", false, false},
	    {"::1:9257", false, false},       {"127.0.0.1:91x", false, false},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct sockaddr_storage sa;
		socklen_t len = 0;
		bool loopback = !cases[i].loopback;
		bool valid = config_parse_listen(cases[i].spec, &sa, &len, &loopback);
		if (valid != cases[i].valid || (valid && loopback != cases[i].loopback))
			fail_msg("%s: valid %d loopback %d", cases[i].spec, valid, loopback);
		struct config cfg;
		char *err = NULL;
		config_init(&cfg);
		char *o = g_strconcat("metrics=", cases[i].spec, NULL);
		if (config_set(&cfg, o, &err) != cases[i].valid)
			fail_msg("-o %s: %s", o, err ? err : "accepted");
		g_free(o);
		g_free(err);
		config_clear(&cfg);
	}
	struct config cfg;
	config_init(&cfg);
	assert_string_equal(cfg.metrics, "");
	assert_false(cfg.metrics_allow_remote);
	config_clear(&cfg);
}

static void test_help_lists_every_key(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	config_print_help(out);
	fclose(out);
	for (size_t i = 0; i < config_key_count; i++)
		assert_non_null(strstr(buf, config_keys[i].name));
	assert_non_null(strstr(buf, "accept|tempfail|hold"));
	free(buf);
}

static void test_values(void **state)
{
	(void)state;
	static const char yaml[] = "mode: monitor\n"
	                           "on-error: tempfail\n"
	                           "socket: inet:8899@127.0.0.1\n"
	                           "scope:\n"
	                           "  daemon-names: [ORIGINATING]\n"
	                           "  client-networks: 192.0.2.0/24, 2001:db8::/32\n"
	                           "  internal-domains:\n"
	                           "    - example.com\n"
	                           "    - example.net\n"
	                           "limits:\n"
	                           "  max-message-size: 512K\n"
	                           "  drain-timeout: 2m\n"
	                           "reconcile:\n"
	                           "  timeout: 90s\n"
	                           "history:\n"
	                           "  window: 2w\n"
	                           "headers:\n"
	                           "  on-pass: true\n"
	                           "user:\n";
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	if (!config_load_string(&cfg, "t.yaml", yaml, strlen(yaml), &err))
		fail_msg("%s", err);
	assert_int_equal(cfg.mode, MODE_MONITOR);
	assert_int_equal(cfg.on_error, ON_ERROR_TEMPFAIL);
	assert_string_equal(cfg.socket, "inet:8899@127.0.0.1");
	assert_int_equal(cfg.daemon_names->len, 1);
	assert_int_equal(cfg.client_networks->len, 2);
	assert_string_equal(cfg.internal_domains->pdata[1], "example.net");
	assert_int_equal(cfg.max_message_size, 512 * 1024);
	assert_int_equal(cfg.drain_timeout, 120);
	assert_int_equal(cfg.queue_timeout, 90);
	assert_int_equal(cfg.history_window, 14 * 86400);
	assert_true(cfg.header_on_pass);
	assert_string_equal(cfg.user, "");
	assert_string_equal(config_choice_name("mode", cfg.mode), "monitor");

	/* -o overrides what the file said. */
	assert_true(config_set(&cfg, "mode=enforce", &err));
	assert_true(config_set(&cfg, "scope.internal-domains=a.example, b.example", &err));
	assert_true(config_set(&cfg, "scope.client-networks=", &err));
	assert_int_equal(cfg.mode, MODE_ENFORCE);
	assert_int_equal(cfg.internal_domains->len, 2);
	assert_string_equal(cfg.internal_domains->pdata[1], "b.example");
	assert_int_equal(cfg.client_networks->len, 0);
	config_clear(&cfg);
}

/* store-pool-size: 4 by default, any of 1 to 64 taken, from the file and
 * from -o (what it refuses is in bad_cases). */
static void test_pool_size(void **state)
{
	(void)state;
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_int_equal(cfg.pool_size, 4);
	static const char yaml[] = "store: postgresql:///apology\nstore-pool-size: 16\n";
	assert_true(config_load_string(&cfg, "t.yaml", yaml, strlen(yaml), &err));
	assert_int_equal(cfg.pool_size, 16);
	assert_true(config_set(&cfg, "store-pool-size=1", &err));
	assert_int_equal(cfg.pool_size, 1);
	assert_true(config_set(&cfg, "store-pool-size=64", &err));
	assert_int_equal(cfg.pool_size, 64);
	assert_false(config_set(&cfg, "store-pool-size=65", &err));
	g_clear_pointer(&err, g_free);
	assert_int_equal(cfg.pool_size, 64);
	config_clear(&cfg);
}

/* host-name: empty by default, the system's host name then; a name of its
 * own for each daemon sharing a store. */
static void test_host_name(void **state)
{
	(void)state;
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_string_equal(cfg.host_name, "");
	assert_string_equal(hostname_or_system(cfg.host_name), g_get_host_name());
	assert_true(config_set(&cfg, "host-name=mx-b.acme.example", &err));
	assert_string_equal(hostname_or_system(cfg.host_name), "mx-b.acme.example");
	assert_false(config_set(&cfg, "host-name=mx b", &err));
	g_clear_pointer(&err, g_free);
	assert_string_equal(hostname_or_system(cfg.host_name), "mx-b.acme.example");
	config_clear(&cfg);
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *expect; /* substring of the error, position included */
};

static const struct bad_case bad_cases[] = {
    {"unknown key", "mode: enforce\nsoket: unix:/x\n", "t.yaml:2:1: unknown key soket"},
    {"unknown nested key", "scope:\n  daemon-name: [X]\n", "t.yaml:2:3: unknown key scope.daemon-name"},
    {"bad choice", "on-error: panic\n", "t.yaml:1:11: on-error: expected one of accept|tempfail|hold"},
    {"bad bool", "headers:\n  on-pass: maybe\n", "t.yaml:2:12: headers.on-pass: expected yes or no"},
    {"size unit", "limits:\n  max-message-size: 10X\n", "t.yaml:2:21: limits.max-message-size: unknown unit"},
    {"size bounds", "limits:\n  max-message-size: 1K\n", "must be between"},
    {"duration", "limits:\n  drain-timeout: soon\n", "t.yaml:2:18: limits.drain-timeout: expected a number"},
    {"network", "scope:\n  client-networks: [10.0.0.0/8, 10.0.0.0/33]\n",
     "t.yaml:2:33: scope.client-networks: expected an address"},
    {"domain", "scope:\n  internal-domains: [\"exa mple.com\"]\n", "expected a domain name"},
    {"header name", "headers:\n  check: \"X-Apology Check\"\n", "t.yaml:2:11: headers.check:"},
    {"socket", "socket: /run/x.sock\n", "t.yaml:1:9: socket: expected unix:PATH"},
    {"inet port", "socket: inet:99999@127.0.0.1\n", "port from 1 to 65535"},
    {"mode bits", "socket-mode: 0999\n", "expected an octal number"},
    {"section as value", "scope: yes\n", "t.yaml:1:1: scope: expected a mapping"},
    {"mapping as value", "mode:\n  a: b\n", "t.yaml:1:1: mode: expected a single value"},
    {"reply text", "reject-text: \"100% sure\"\n", "printable ASCII"},
    {"not a mapping", "- a\n- b\n", "expected a mapping of settings"},
    {"syntax", "mode: [enforce\n", "t.yaml:"},
    {"required value", "mode:\n", "t.yaml:1:1: mode: a value is required"},
    {"alias", "mode: &m monitor\non-error: *m\n", "t.yaml:2:12: YAML alias \"*m\" is not supported"},
    {"second document", "mode: monitor\n---\nmode: enforce\n", "t.yaml:2:1: a second YAML document"},
    {"reload shrink", "policy-reload-shrink: sometimes\n", "expected one of refuse|allow"},
    {"host name", "host-name: mx/a\n", "t.yaml:1:12: host-name: a host name has only letters"},
    {"no pool", "store-pool-size: 0\n", "t.yaml:1:18: store-pool-size: must be between 1 and 64"},
    {"pool too large", "store-pool-size: 65\n", "t.yaml:1:18: store-pool-size: must be between 1 and 64"},
    {"pool not a number", "store-pool-size: many\n", "t.yaml:1:18: store-pool-size: expected a number"},
};

static void test_bad_values(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct config cfg;
		char *err = NULL;
		config_init(&cfg);
		bool ok = config_load_string(&cfg, "t.yaml", c->yaml, strlen(c->yaml), &err);
		if (ok)
			fail_msg("%s: accepted", c->name);
		if (strstr(err, c->expect) == NULL)
			fail_msg("%s: expected \"%s\" in \"%s\"", c->name, c->expect, err);
		g_free(err);
		config_clear(&cfg);
	}
}

static void test_all_errors_reported(void **state)
{
	(void)state;
	static const char yaml[] = "one: 1\nmode: x\nlimits:\n  two: 2\n";
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_false(config_load_string(&cfg, "t.yaml", yaml, strlen(yaml), &err));
	assert_non_null(strstr(err, "t.yaml:1:1: unknown key one"));
	assert_non_null(strstr(err, "t.yaml:2:7: mode"));
	assert_non_null(strstr(err, "t.yaml:4:3: unknown key limits.two"));
	g_free(err);
	config_clear(&cfg);
}

static void test_overrides(void **state)
{
	(void)state;
	struct config cfg;
	char *err = NULL;
	config_init(&cfg);
	assert_false(config_set(&cfg, "nosuchkey=1", &err));
	assert_string_equal(err, "-o nosuchkey: unknown key");
	g_clear_pointer(&err, g_free);
	assert_false(config_set(&cfg, "mode", &err));
	assert_non_null(strstr(err, "expected key=value"));
	g_clear_pointer(&err, g_free);
	assert_false(config_set(&cfg, "limits.drain-timeout=-5", &err));
	g_clear_pointer(&err, g_free);
	assert_true(config_set(&cfg, "limits.drain-timeout=1h", &err));
	assert_int_equal(cfg.drain_timeout, 3600);
	assert_false(config_set(&cfg, "limits.drain-timeout=2h", &err)); /* over the bound */
	g_clear_pointer(&err, g_free);
	assert_int_equal(cfg.drain_timeout, 3600); /* a refused value changes nothing */
	assert_false(config_load(&cfg, "/nonexistent/apology-milter.yaml", &err));
	assert_non_null(strstr(err, "/nonexistent/apology-milter.yaml:0:0:"));
	g_free(err);
	config_clear(&cfg);
}

static struct sockaddr_storage addr(const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	if (strchr(text, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, text, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, text, &s4->sin_addr);
	}
	return ss;
}

static void test_scope(void **state)
{
	(void)state;
	struct config cfg;
	struct scope sc;
	char *err = NULL;
	config_init(&cfg);
	assert_true(config_set(&cfg, "scope.client-networks=192.0.2.0/25,2001:db8::/32", &err));
	assert_true(config_set(&cfg, "scope.internal-domains=Example.COM", &err));
	scope_compile(&sc, &cfg);

	struct sockaddr_storage in = addr("192.0.2.100"), out = addr("192.0.2.200"), v6 = addr("2001:db8::1"),
	                        mapped = addr("::ffff:192.0.2.1");
	assert_true(scope_is_outgoing(&sc, "ORIGINATING", NULL, NULL));
	assert_true(scope_is_outgoing(&sc, "MSA", NULL, NULL));
	assert_false(scope_is_outgoing(&sc, "MTA", NULL, NULL));
	assert_false(scope_is_outgoing(&sc, NULL, NULL, NULL));
	assert_true(scope_is_outgoing(&sc, NULL, "alice", NULL));
	assert_false(scope_is_outgoing(&sc, NULL, "", NULL));
	assert_true(scope_is_outgoing(&sc, NULL, NULL, (struct sockaddr *)&in));
	assert_false(scope_is_outgoing(&sc, NULL, NULL, (struct sockaddr *)&out));
	assert_true(scope_is_outgoing(&sc, NULL, NULL, (struct sockaddr *)&v6));
	assert_true(scope_is_outgoing(&sc, NULL, NULL, (struct sockaddr *)&mapped));

	assert_true(scope_is_internal(&sc, "<Bob@EXAMPLE.com>"));
	assert_true(scope_is_internal(&sc, "bob@mail.example.com"));
	assert_false(scope_is_internal(&sc, "bob@badexample.com"));
	assert_false(scope_is_internal(&sc, "bob@example.com.evil"));
	assert_false(scope_is_internal(&sc, "<>"));

	char *d = address_domain("<Carol@Client.Example>");
	assert_string_equal(d, "client.example");
	g_free(d);
	d = address_bare("<Carol@Client.Example>");
	assert_string_equal(d, "carol@client.example");
	g_free(d);

	/* auth_authen alone does not count when scope.authenticated is off. */
	scope_clear(&sc);
	assert_true(config_set(&cfg, "scope.authenticated=no", &err));
	scope_compile(&sc, &cfg);
	assert_false(scope_is_outgoing(&sc, NULL, "alice", NULL));
	scope_clear(&sc);
	config_clear(&cfg);
}

static void test_networks(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		bool ok;
	} cases[] = {
	    {"10.0.0.0/8", true},   {"10.1.2.3", true},     {"::1", true},
	    {"::/0", true},         {"10.0.0.0/33", false}, {"10.0.0.0/", false},
	    {"10.0.0/8", false},    {"fe80::/129", false},  {"", false},
	    {"10.0.0.0/8x", false}, {"/8", false},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct network n;
		if (network_parse(cases[i].text, &n) != cases[i].ok)
			fail_msg("network_parse(\"%s\") should be %s", cases[i].text,
			         cases[i].ok ? "accepted" : "refused");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_defaults),
	    cmocka_unit_test(test_shipped_file),
	    cmocka_unit_test(test_help_lists_every_key),
	    cmocka_unit_test(test_metrics_address),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_host_name),
	    cmocka_unit_test(test_pool_size),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_all_errors_reported),
	    cmocka_unit_test(test_overrides),
	    cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_networks),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
