/*
 * ctl.c - see ctl.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include "ctl.h"
#include "policy.h"
#include "render.h"
#include "review_config.h"
#include "store.h"

const char *ctl_default_policy_path(void)
{
	const char *env = getenv("APOLOGY_POLICY");
	if (env && *env)
		return env;
	if (access(POLICY_DEFAULT_PATH, R_OK) == 0)
		return POLICY_DEFAULT_PATH;
	return DATADIR "/policies/default.yaml";
}

struct policy *ctl_load_policy(const char *path)
{
	char *err = NULL;
	struct policy *pol = policy_load(path, &err);
	if (pol == NULL) {
		fprintf(stderr, "%s", err ? err : "cannot load the policy\n");
		g_free(err);
	}
	return pol;
}

bool ctl_parse_time(const char *s, gint64 *out)
{
	GDateTime *dt = g_date_time_new_from_iso8601(s, NULL);
	if (dt == NULL) {
		int y, m, d;
		char end;
		if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3)
			return false;
		dt = g_date_time_new_utc(y, m, d, 0, 0, 0);
		if (dt == NULL)
			return false;
	}
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return true;
}

bool ctl_parse_since(const char *s, gint64 now, gint64 *out)
{
	gint64 back = 0;
	if (review_parse_duration(s, &back)) {
		*out = now - back;
		return true;
	}
	return ctl_parse_time(s, out);
}

int ctl_with_store(const struct review_config *cfg, int rc,
                   int (*run)(const struct review_config *cfg, struct store *st, void *data), void *data)
{
	if (rc != 0)
		return rc;
	char *err = NULL;
	struct store *st = review_config_open_store(cfg, &err);
	if (st == NULL) {
		fprintf(stderr, "apologyctl: %s\n", err);
		g_free(err);
		return EX_UNAVAILABLE;
	}
	rc = run(cfg, st, data);
	store_close(st);
	return rc;
}

int ctl_review_usage(const char *command, const char *text, const char *msg)
{
	if (msg)
		fprintf(stderr, "apologyctl %s: %s\n", command, msg);
	fputs(text, stderr);
	review_config_print_help(stderr);
	return EX_USAGE;
}

void ctl_context_complaint(struct context *ctx, const struct complaint *c, gint64 received)
{
	ctx->stored_complaint = true;
	ctx->complaint_time = received;
	ctx->complaint_serious = c->severity == SEVERITY_SERIOUS;
	ctx->complaint_kinds = c->kinds;
	ctx->complaint_unclear = !c->clear;
}

void ctl_json_decision(GString *out, const char *file, const struct policy *pol, const struct decision *d)
{
	render_json(out, file, d);
	JsonBuilder *b = json_builder_new();
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "apologised");
	json_builder_add_boolean_value(b, d->apologised);
	json_builder_set_member_name(b, "kinds");
	json_builder_begin_array(b);
	for (unsigned k = 0; k < policy_kind_count(pol) && k < 32; k++)
		if (d->complaint.kinds & (1u << k))
			ctl_json_add_string(b, policy_kind_name(pol, k));
	json_builder_end_array(b);
	json_builder_end_object(b);
	ctl_json_extend(out, b);
	g_object_unref(b);
}

void ctl_json_add_string(JsonBuilder *builder, const char *value)
{
	if (value == NULL) {
		json_builder_add_null_value(builder);
		return;
	}
	if (g_utf8_validate(value, -1, NULL)) {
		json_builder_add_string_value(builder, value);
		return;
	}
	char *valid = g_utf8_make_valid(value, -1);
	json_builder_add_string_value(builder, valid);
	g_free(valid);
}

void ctl_json_member_string(JsonBuilder *builder, const char *name, const char *value)
{
	json_builder_set_member_name(builder, name);
	ctl_json_add_string(builder, value);
}

void ctl_json_member_strings(JsonBuilder *builder, const char *const (*members)[2], size_t n)
{
	for (size_t i = 0; i < n; i++)
		ctl_json_member_string(builder, members[i][0], members[i][1]);
}

void ctl_json_member_int(JsonBuilder *builder, const char *name, gint64 value)
{
	json_builder_set_member_name(builder, name);
	json_builder_add_int_value(builder, value);
}

char *ctl_json_text(JsonBuilder *builder)
{
	JsonNode *root = json_builder_get_root(builder);
	JsonGenerator *gen = json_generator_new();
	json_generator_set_pretty(gen, FALSE);
	json_generator_set_root(gen, root);
	char *text = json_generator_to_data(gen, NULL);
	g_object_unref(gen);
	json_node_unref(root);
	return text;
}

void ctl_json_extend(GString *object, JsonBuilder *builder)
{
	char *members = ctl_json_text(builder);
	g_assert(object->len > 0 && object->str[object->len - 1] == '}' && members[0] == '{');
	g_string_truncate(object, object->len - 1);
	if (members[1] != '}')
		g_string_append_c(object, ',');
	g_string_append(object, members + 1);
	g_free(members);
}
