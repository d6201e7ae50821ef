/*
 * test_connguard.c - the review page's connection guard (milter/review/
 * connguard.c) on socket pairs: which connection it shuts down to make room,
 * seen from the client's end as end of file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connguard.h"

#define N 8

struct pair {
	int server, client;
	struct connguard_slot *slot;
};

/* Open connection P from ADDRESS. */
static void open_one(struct connguard *g, struct pair *p, const char *address)
{
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	p->server = fds[0];
	p->client = fds[1];
	p->slot = connguard_open(g, p->server, address);
}

/* Whether the server shut P down: its client reads end of file. */
static bool shut(const struct pair *p)
{
	char c;
	return read(p->client, &c, 1) == 0;
}

static void close_one(struct connguard *g, struct pair *p)
{
	connguard_close(g, p->slot);
	close(p->server);
	close(p->client);
}

/* Past the per-address limit the oldest idle connection of that address
 * goes, not a busy one and not another address's; past the limit in all,
 * the oldest idle of any address; when all are busy, the new one. */
static void test_makes_room(void **state)
{
	(void)state;
	struct connguard *g = connguard_new(4, 2);
	struct pair p[N];
	open_one(g, &p[0], "A");
	open_one(g, &p[1], "B");
	connguard_busy(g, p[0].slot, true);
	open_one(g, &p[2], "A");
	assert_false(shut(&p[0]) || shut(&p[1]) || shut(&p[2]));
	open_one(g, &p[3], "A"); /* A's third: p[0] is busy, p[2] is A's oldest idle */
	assert_true(shut(&p[2]));
	assert_false(shut(&p[0]) || shut(&p[1]) || shut(&p[3]));
	open_one(g, &p[4], "C");
	open_one(g, &p[5], "D"); /* fifth in all: p[1] is the oldest idle */
	assert_true(shut(&p[1]));
	assert_false(shut(&p[0]) || shut(&p[3]) || shut(&p[4]) || shut(&p[5]));
	for (int i = 3; i <= 5; i++)
		connguard_busy(g, p[i].slot, true);
	open_one(g, &p[6], "E"); /* every other one busy: the new one goes */
	assert_true(shut(&p[6]));
	assert_false(shut(&p[0]) || shut(&p[3]) || shut(&p[4]) || shut(&p[5]));
	connguard_busy(g, p[3].slot, false); /* its request done, idle again */
	open_one(g, &p[7], "E");
	assert_true(shut(&p[3]));
	assert_int_equal(connguard_evicted(g), 4);
	for (int i = 0; i < N; i++)
		close_one(g, &p[i]);
	connguard_free(g);
}

/* Closed connections free their place: as many as the limit stay open. */
static void test_closed_make_room(void **state)
{
	(void)state;
	struct connguard *g = connguard_new(2, 2);
	struct pair p[N];
	for (int i = 0; i < N; i++) {
		if (i > 1)
			close_one(g, &p[i - 2]);
		open_one(g, &p[i], "A");
		assert_false(shut(&p[i]));
	}
	assert_int_equal(connguard_evicted(g), 0);
	close_one(g, &p[N - 2]);
	close_one(g, &p[N - 1]);
	connguard_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_makes_room),
	    cmocka_unit_test(test_closed_make_room),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
