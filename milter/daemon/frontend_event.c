/*
 * frontend_event.c - the default front end (apology-milter): the milter
 * protocol spoken directly, with event loops instead of a thread per
 * connection.
 *
 * limits.workers threads (one per CPU by default) each run an epoll loop
 * over the connections it accepted from the shared listening socket
 * (EPOLLEXCLUSIVE: one loop is woken per new connection).  A loop reads
 * commands, cuts them into packets (milterproto.c) and hands each step to
 * filter.c.  No connection ever changes loop.
 *
 * At end of message a loop judges a message of up to JUDGE_ON_LOOP bytes
 * itself and answers at once: the usual reply costs no hand-over between
 * threads and no extra wake-up, and at most some 60 ms of work at the
 * worst found (64 KB of empty MIME parts; docs/performance.md).  But where
 * the sentence encoder would read it (a thread the gate is unsure of:
 * 15 ms or more, where the rest takes microseconds), the loop stops there
 * (filter_defer_encoder()) and hands it on like a larger one.  A larger
 * message goes to the judges, a few threads shared by all loops, through a
 * bounded queue: its loop stops reading that connection (the MTA sends
 * nothing before the answer), goes on serving the others, and answers when
 * the judgement comes back.  When the queue is full the loop judges the
 * message itself, so the MTA waits longer but always gets an answer.
 *
 * Memory (limits.memory-budget, budget.h): a packet not read whole yet is
 * held only with budget for all of it, taken when its first five bytes tell
 * its size, except a small one (up to a body chunk, one per connection,
 * like the read buffer).  Without room the packet is read and dropped as it
 * comes, and its message deferred: the MTA is told tempfail, at once for a
 * command that wants a reply, else at end of message.  The message buffers
 * of filter.c take from the same budget.  A packet larger than the
 * protocol's maximum (MP_MAX_PACKET) closes the connection at once.
 *
 * A connection the MTA leaves idle for limits.milter-timeout is closed.
 * Idleness is measured on each loop's own clock, which runs while the loop
 * waits for events and counts at most TURN_COUNTED of any turn's work: time
 * a loop spends on other connections never makes a connection look idle.
 * A connection waiting for its judgement, or with a command not yet read,
 * is never idle; the MTA reading replies is not idle either.  More than
 * MAX_UNSENT of replies unread and the MTA is not read until it reads them
 * (an end of message may answer with thousands of header changes, which the
 * MTA reads; an MTA that never reads is closed as idle, its commands unread).
 *
 * Why not libmilter: its thread per connection and a poll() before every
 * read cost more CPU than the judging itself, and on a busy MTA that CPU is
 * taken from Postfix (docs/performance.md).  frontend_libmilter.c keeps
 * the libmilter build for comparison.
 *
 * Signals (a signalfd in the first loop): SIGUSR1 and SIGHUP reload the
 * policy on a thread of their own (a bad policy keeps the old one).
 * SIGTERM, SIGINT and SIGUSR2 stop gracefully: new messages are accepted
 * unchecked at MAIL FROM (the socket stays open, so the MTA need not fall
 * back on its default_action), messages in flight are finished within
 * limits.drain-timeout, then the daemon exits; a second signal exits at
 * once.  The upkeep (daemon_upkeep: the store, pruning, reconcile) runs a
 * second after start and then every spool.retry, also on a thread of its
 * own.
 */
#include <errno.h>
#include <libmilter/mfapi.h>
#include <libmilter/mfdef.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "budget.h"
#include "daemon_metrics.h"
#include "frontend.h"
#include "log.h"
#include "milterproto.h"
#include "mta.h"

#define TICK_MS       1000
#define READ_CHUNK    65536
#define BIG_BUFFER    (256 * 1024)         /* input buffers above this are freed when empty */
#define MAX_UNSENT    (64 * 1024)          /* replies left unread above which the MTA is not read */
#define SMALL_PACKET  (65536 + 4)          /* up to one body chunk: held without the budget */
#define JUDGE_ON_LOOP (64 * 1024)          /* larger messages are judged off the loop */
#define JUDGE_QUEUE   4                    /* messages waiting per judge before the loops judge them */
#define TURN_COUNTED  ((gint64)100 * 1000) /* microseconds of a turn's work counted as idle time */

const char frontend_signal_help[] =
    "Signals: USR1 and HUP reload the policy; TERM, INT and USR2 stop after the\n"
    "messages in flight (limits.drain-timeout); a second one stops at once.\n";

/* The listening socket, opened by frontend_listen() before privileges go. */
static int listen_fd = -1;
static bool listen_unix_socket; /* no TCP options on accepted connections */

/* The threads that judge the larger messages, for all loops.  LOCK also
 * guards each loop's answered queue. */
struct judges {
	GMutex lock;
	GCond work;     /* a job is waiting, or stopping */
	GQueue waiting; /* jobs not yet taken, at most JUDGE_QUEUE per judge */
	unsigned busy;  /* judges judging */
	bool stopping;  /* set when the loops have ended */
	int n;
	GThread **threads;
};

/* What every loop shares. */
struct server {
	struct filter *f;
	const struct config *cfg;
	int sig_fd;
	gint stopping;                /* atomic: a stop signal came */
	gint stop_deadline;           /* atomic: monotonic seconds; set before stopping */
	gint reloading;               /* atomic: a reload thread runs */
	gint reload_again;            /* atomic: a reload was asked for meanwhile */
	gint upkeeping;               /* atomic: an upkeep thread runs */
	GThread *reloader, *upkeeper; /* joined before the next one and at exit */
	struct judges *judges;
};

/* One event loop, one thread. */
struct loop {
	struct server *srv;
	int ep;
	GQueue conns;
	bool listening;
	bool signals; /* this loop takes the signals and starts the upkeep */
	gint64 next_upkeep;
	GThread *thread;
	GByteArray *spare_in;  /* input buffer of a closed connection, for the next */
	gint64 clock;          /* microseconds of idle time: see the top of this file */
	int answer_fd;         /* eventfd: a judge has put a job in answered */
	GQueue answered;       /* jobs judged, for this loop to answer (judges.lock) */
	unsigned jobs;         /* jobs handed to the judges and not back yet */
	gint64 refusal_logged; /* monotonic time of the last "budget is full" line */
	unsigned refusals;     /* packets refused since */
};

/* What the MTA is told at end of message: the MTA operations below append
 * to OUT, whoever judges the message (the loop into the connection's own
 * buffer, a judge into a buffer of the job). */
struct answer {
	uint32_t actions; /* negotiated, SMFIF_* */
	GByteArray *out;
	char *reply; /* "550 5.7.1 text" from set_reply, or NULL */
};

/* A message judged off its loop.  The loop hands the session to a judge
 * and takes it back with the answer; until then the connection reads
 * nothing.  C belongs to the loop: it becomes NULL when the connection
 * closes meanwhile, and the loop then drops the answer. */
struct job {
	struct loop *lp;
	struct conn *c;
	struct filter_session *session;
	char *queue_id;
	struct answer a;
	bool waiting; /* in judges.waiting (judges.lock) */
	GList link;   /* in judges.waiting, then in lp->answered */
};

struct conn {
	struct loop *lp;
	int fd;
	GList link; /* in lp->conns */
	GByteArray *in, *out;
	size_t in_off, out_off;
	uint32_t actions, steps;
	unsigned events;                /* what epoll watches */
	struct filter_session *session; /* NULL while a judge has it */
	char *daemon_name, *auth_authen, *queue_id;
	struct job *job;    /* the message being judged off the loop, or NULL */
	gint64 last_active; /* lp->clock when the MTA last sent something */
	size_t in_peak;     /* the most IN held since it was new: what freeing it returns */
	size_t reserved;    /* budget taken for the packet not whole yet at in_off */
	size_t dropping;    /* bytes still to drop of a packet the budget had no room for */
	char dropped_cmd;   /* that packet's command */
};

/* Markers for the loop's own descriptors in epoll's data pointer. */
static char tag_listen, tag_signal, tag_answers;

/* ---- the MTA operations: replies appended at end of message ----------- */

static bool ev_add_header(void *mta, const char *name, const char *value)
{
	struct answer *a = mta;
	if (!(a->actions & SMFIF_ADDHDRS))
		return false;
	mp_put_header(a->out, -1, name, value);
	return true;
}

static bool ev_delete_header(void *mta, const char *name, int index)
{
	struct answer *a = mta;
	if (!(a->actions & SMFIF_CHGHDRS) || index < 1)
		return false;
	mp_put_header(a->out, index, name, "");
	return true;
}

static bool ev_quarantine(void *mta, const char *reason)
{
	struct answer *a = mta;
	if (!(a->actions & SMFIF_QUARANTINE) || reason == NULL || *reason == '\0')
		return false;
	mp_put_string(a->out, SMFIR_QUARANTINE, reason);
	return true;
}

/* As smfi_setreply(): a 4xx or 5xx code, an optional enhanced code of the
 * same class, and one line of text. */
static bool ev_set_reply(void *mta, const char *rcode, const char *xcode, const char *text)
{
	struct answer *a = mta;
	if (rcode == NULL || strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    !g_ascii_isdigit(rcode[1]) || !g_ascii_isdigit(rcode[2]) || (xcode && xcode[0] != rcode[0]) ||
	    (text && strpbrk(text, "\r\n")))
		return false;
	g_free(a->reply);
	a->reply = g_strjoin(" ", rcode, xcode ? xcode : (rcode[0] == '5' ? "5.7.1" : "4.7.1"),
	                     text ? text : "", NULL);
	return true;
}

static const struct mta_ops event_ops = {
    .add_header = ev_add_header,
    .delete_header = ev_delete_header,
    .quarantine = ev_quarantine,
    .set_reply = ev_set_reply,
};

/* A step's outcome as a reply; a reject or a deferral carries the SMTP
 * reply set at end of message (REPLY, or NULL) when its class matches. */
static void reply_status(GByteArray *out, enum filter_reply r, const char *reply)
{
	static const char plain[] = {
	    [FILTER_CONTINUE] = SMFIR_CONTINUE,
	    [FILTER_ACCEPT] = SMFIR_ACCEPT,
	    [FILTER_REJECT] = SMFIR_REJECT,
	    [FILTER_TEMPFAIL] = SMFIR_TEMPFAIL,
	};
	g_assert(r != FILTER_AGAIN); /* judge_message() answers nothing then */
	char class = r == FILTER_REJECT ? '5' : r == FILTER_TEMPFAIL ? '4' : '\0';
	if (class && reply && reply[0] == class)
		mp_put_string(out, SMFIR_REPLYCODE, reply);
	else
		mp_put(out, plain[r], NULL, 0);
}

/* Judge the message of S and put the whole answer in A: the headers, the
 * quarantine and the verdict, in the order the MTA wants them.  Runs on a
 * loop or on a judge.  ON_LOOP: stop where the sentence encoder would run
 * (milliseconds, where the rest takes microseconds: every connection of
 * the loop would wait), put nothing in A and return false, for a judge to
 * take it. */
static bool judge_message(struct filter_session *s, const char *queue_id, struct answer *a, bool on_loop)
{
	filter_defer_encoder(s, on_loop);
	enum filter_reply r = filter_end_of_message(s, queue_id, &event_ops, a);
	if (r == FILTER_AGAIN)
		return false;
	reply_status(a->out, r, a->reply);
	g_clear_pointer(&a->reply, g_free);
	return true;
}

/* ---- judges: the larger messages, off the loops ----------------------- */

static void job_free(struct job *j)
{
	filter_session_free(j->session);
	g_free(j->queue_id);
	g_byte_array_unref(j->a.out);
	g_free(j->a.reply);
	g_free(j);
}

/* Judge the jobs waiting, one at a time, and hand each answer to its loop;
 * once the loops have ended, drop the answer and end. */
static gpointer judge_thread(gpointer data)
{
	struct judges *js = data;
	g_mutex_lock(&js->lock);
	for (;;) {
		while (!js->stopping && js->waiting.head == NULL)
			g_cond_wait(&js->work, &js->lock);
		if (js->stopping)
			break;
		struct job *j = g_queue_pop_head_link(&js->waiting)->data;
		j->waiting = false;
		js->busy++;
		g_mutex_unlock(&js->lock);
		judge_message(j->session, j->queue_id, &j->a, false);
		g_mutex_lock(&js->lock);
		js->busy--;
		if (js->stopping) {
			job_free(j);
			break;
		}
		g_queue_push_tail_link(&j->lp->answered, &j->link);
		/* Under the lock, so the loop's eventfd is still open; a write
		 * fails only with 2^64 - 2 wake-ups unread. */
		uint64_t one = 1;
		ssize_t w = write(j->lp->answer_fd, &one, sizeof one);
		(void)w;
	}
	g_mutex_unlock(&js->lock);
	return NULL;
}

/* N judges: at least two, so that one long message leaves a judge for the
 * others.  Freed by judges_stop(). */
static struct judges *judges_start(int n)
{
	struct judges *js = g_new0(struct judges, 1);
	g_mutex_init(&js->lock);
	g_cond_init(&js->work);
	g_queue_init(&js->waiting);
	js->n = MAX(n, 2);
	js->threads = g_new0(GThread *, js->n);
	for (int i = 0; i < js->n; i++)
		js->threads[i] = g_thread_new("judge", judge_thread, js);
	return js;
}

/* Queue J for a judge; false when JUDGE_QUEUE jobs per judge are waiting
 * already: the loop then judges the message itself. */
/* Is there room in the judges' queue?  With their lock held. */
static bool room_locked(const struct judges *js)
{
	return js->waiting.length < (guint)(JUDGE_QUEUE * js->n);
}

/* Would the judges take a job now?  A hint: another loop may fill the
 * queue before this one hands its job over. */
static bool judges_have_room(struct judges *js)
{
	g_mutex_lock(&js->lock);
	bool room = room_locked(js);
	g_mutex_unlock(&js->lock);
	return room;
}

static bool judges_take(struct judges *js, struct job *j)
{
	g_mutex_lock(&js->lock);
	bool room = room_locked(js);
	if (room) {
		g_queue_push_tail_link(&js->waiting, &j->link);
		j->waiting = true;
		g_cond_signal(&js->work);
	}
	g_mutex_unlock(&js->lock);
	return room;
}

/* The connection of J has closed: a job still waiting is dropped now; one
 * being judged, or judged already, when it comes back to the loop. */
static void job_abandon(struct judges *js, struct job *j)
{
	g_mutex_lock(&js->lock);
	bool waiting = j->waiting;
	if (waiting)
		g_queue_unlink(&js->waiting, &j->link);
	g_mutex_unlock(&js->lock);
	j->c = NULL;
	if (waiting) {
		j->lp->jobs--;
		job_free(j);
	}
}

/* Once the loops (N_LOOPS of LOOPS) have ended: drop the jobs waiting and
 * the answers not taken, and end the judges.  Judges still judging (past
 * limits.drain-timeout; F then has messages in flight) are left to the
 * process's exit, with JS.  Returns whether every judge has ended. */
static bool judges_stop(struct judges *js, struct loop *loops, int n_loops, struct filter *f)
{
	GQueue drop = G_QUEUE_INIT;
	GList *l;
	g_mutex_lock(&js->lock);
	js->stopping = true;
	g_cond_broadcast(&js->work);
	while ((l = g_queue_pop_head_link(&js->waiting)) != NULL)
		g_queue_push_tail_link(&drop, l);
	for (int i = 0; i < n_loops; i++)
		while ((l = g_queue_pop_head_link(&loops[i].answered)) != NULL)
			g_queue_push_tail_link(&drop, l);
	g_mutex_unlock(&js->lock);
	while ((l = g_queue_pop_head_link(&drop)) != NULL)
		job_free(l->data);
	/* Nothing in flight: no judge is judging, they only finish a turn. */
	bool ended = filter_in_flight(f) == 0;
	for (int i = 0; i < js->n; i++) {
		if (ended)
			g_thread_join(js->threads[i]);
		else
			g_thread_unref(js->threads[i]);
	}
	g_free(js->threads);
	if (ended) {
		g_mutex_clear(&js->lock);
		g_cond_clear(&js->work);
		g_free(js);
	}
	return ended;
}

/* ---- connections ------------------------------------------------------ */

static void conn_watch(struct conn *c)
{
	/* Nothing is read while a judge has the message, nor while the MTA
	 * leaves more than MAX_UNSENT of replies unread. */
	size_t unsent = c->out->len - c->out_off;
	unsigned want = (c->job || unsent > MAX_UNSENT ? 0 : EPOLLIN) | (unsent > 0 ? EPOLLOUT : 0);
	if (want == c->events)
		return;
	struct epoll_event ev = {.events = want, .data.ptr = c};
	if (epoll_ctl(c->lp->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

static void conn_forget_message(struct conn *c)
{
	g_clear_pointer(&c->queue_id, g_free);
}

static struct budget *conn_budget(const struct conn *c)
{
	return filter_budget(c->lp->srv->f);
}

/* Give back the budget of the packet at in_off, now read whole or gone. */
static void conn_unreserve(struct conn *c)
{
	if (c->reserved > 0)
		budget_give(conn_budget(c), c->reserved);
	c->reserved = 0;
}

/* Free the input buffer, or keep it for the loop's next connection when it
 * stayed small.  Even small ones count towards the next return of memory to
 * the system: a thousand connections closing leave their read buffers. */
static void conn_free_input(struct conn *c)
{
	struct loop *lp = c->lp;
	if (lp->spare_in == NULL && c->in_peak <= BIG_BUFFER) {
		g_byte_array_set_size(c->in, 0);
		lp->spare_in = c->in;
	} else {
		g_byte_array_unref(c->in);
		budget_freed(conn_budget(c), c->in_peak + READ_CHUNK);
	}
	c->in = NULL;
}

static void conn_close(struct conn *c)
{
	struct loop *lp = c->lp;
	if (c->job)
		job_abandon(lp->srv->judges, c->job);
	g_queue_unlink(&lp->conns, &c->link);
	/* Out of the epoll set first: close() alone leaves it there while any
	 * other reference to the socket lives, and a child forked meanwhile
	 * (reconcile runs postqueue) holds one until it execs; an event for it
	 * would then name this connection after it is freed. */
	epoll_ctl(lp->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	filter_session_free(c->session);
	conn_unreserve(c);
	conn_free_input(c);
	g_byte_array_unref(c->out);
	g_free(c->daemon_name);
	g_free(c->auth_authen);
	conn_forget_message(c);
	g_free(c);
}

/* Send what is queued, as far as the MTA reads it (its reading counts as
 * activity); false when the MTA has gone. */
static bool conn_flush(struct conn *c)
{
	while (c->out_off < c->out->len) {
		ssize_t n = send(c->fd, c->out->data + c->out_off, c->out->len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0)
			return false;
		c->out_off += (size_t)n;
		c->last_active = c->lp->clock;
	}
	if (c->out_off == c->out->len) {
		g_byte_array_set_size(c->out, 0);
		c->out_off = 0;
	}
	conn_watch(c);
	return true;
}

static struct filter_session *session_get(struct conn *c)
{
	if (c->session == NULL) {
		c->session = filter_session_new(c->lp->srv->f, NULL, "");
		filter_set_leading_space(c->session, c->steps & SMFIP_HDR_LEADSPC);
	}
	return c->session;
}

/* "Continue" after a step, unless the MTA was told not to wait for it. */
static void reply_continue(struct conn *c, uint32_t no_reply_step)
{
	if (!(c->steps & no_reply_step))
		mp_put(c->out, SMFIR_CONTINUE, NULL, 0);
}

static void take_macro(void *arg, const char *name, const char *value)
{
	struct conn *c = arg;
	char **slot = strcmp(name, "daemon_name") == 0   ? &c->daemon_name
	              : strcmp(name, "auth_authen") == 0 ? &c->auth_authen
	              : strcmp(name, "i") == 0           ? &c->queue_id
	                                                 : NULL;
	if (slot) {
		g_free(*slot);
		*slot = g_strdup(value);
	}
}

static void on_connect(struct conn *c, const struct mp_packet *p)
{
	struct mp_connect mc;
	struct sockaddr_storage ss = {0};
	const struct sockaddr *sa = NULL;
	const char *text = "";
	if (mp_parse_connect(p->data, p->len, &mc) && mc.addr) {
		text = g_str_has_prefix(mc.addr, "IPv6:") ? mc.addr + 5 : mc.addr;
		struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		if (mc.family == '4' && inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			sa = (const struct sockaddr *)&ss;
		} else if (mc.family == '6' && inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			sa = (const struct sockaddr *)&ss;
		}
		if (sa == NULL)
			text = "";
	}
	filter_session_free(c->session);
	c->session = filter_session_new(c->lp->srv->f, sa, text);
	filter_set_leading_space(c->session, c->steps & SMFIP_HDR_LEADSPC);
	filter_set_daemon_name(c->session, c->daemon_name);
	reply_continue(c, SMFIP_NR_CONN);
}

static bool on_optneg(struct conn *c, const struct mp_packet *p)
{
	struct mp_optneg mta, ours;
	if (!mp_parse_optneg(p->data, p->len, &mta) || mta.version < 2) {
		log_msg(LOG_ERR, "milter negotiation: the MTA speaks an unknown protocol version");
		return false;
	}
	ours.version = mta.version < MP_VERSION ? mta.version : MP_VERSION;
	ours.actions = mta.actions & FRONTEND_ACTIONS;
	ours.protocol = mta.protocol & FRONTEND_STEPS;
	c->actions = ours.actions;
	c->steps = ours.protocol;
	mp_put_optneg(c->out, &ours, (ours.actions & SMFIF_SETSYMLIST) ? frontend_macros : NULL);
	return true;
}

/* Hand the message of C to the judges; false when their queue is full. */
static bool judge_aside(struct conn *c)
{
	struct job *j = g_new0(struct job, 1);
	j->lp = c->lp;
	j->c = c;
	j->session = c->session;
	j->queue_id = c->queue_id;
	j->a.actions = c->actions;
	j->a.out = g_byte_array_new();
	j->link.data = j;
	if (!judges_take(c->lp->srv->judges, j)) {
		g_byte_array_unref(j->a.out);
		g_free(j);
		return false;
	}
	c->session = NULL;
	c->queue_id = NULL;
	c->job = j;
	c->lp->jobs++;
	return true;
}

/* A message of up to JUDGE_ON_LOOP bytes is judged here, on the loop, and
 * answered at once, unless the sentence encoder would read it; a larger
 * one, or one the encoder reads, by a judge, unless their queue is full. */
static void on_end_of_message(struct conn *c, const struct mp_packet *p)
{
	struct filter_session *s = session_get(c);
	if (p->len > 0)
		filter_body(s, p->data, p->len);
	filter_end_arrived(s); /* its wait for a judge counts in its time */
	if (filter_message_bytes(s) > JUDGE_ON_LOOP && judge_aside(c)) {
		DAEMON_COUNT(judged_aside, "size");
		return;
	}
	/* Stopping where the encoder would run is worth it only when a judge
	 * can take the message now: with their queue full (and for a large
	 * message, which found it full), the loop judges it whole at once. */
	bool may_defer = filter_message_bytes(s) <= JUDGE_ON_LOOP && judges_have_room(c->lp->srv->judges);
	struct answer a = {.actions = c->actions, .out = c->out};
	if (!judge_message(s, c->queue_id, &a, may_defer)) {
		if (judge_aside(c)) {
			DAEMON_COUNT(judged_aside, "encoder");
			return;
		}
		judge_message(s, c->queue_id, &a, false); /* the judges' queue is full */
	}
	conn_forget_message(c);
}

/* Tempfail after a step, unless the MTA was told not to wait for it. */
static void reply_tempfail(struct conn *c, uint32_t no_reply_step)
{
	if (!(c->steps & no_reply_step))
		mp_put(c->out, SMFIR_TEMPFAIL, NULL, 0);
}

/* A header or a body chunk was dropped: its message is deferred. */
static void refuse_message_data(struct conn *c, uint32_t no_reply_step)
{
	struct filter_session *s = session_get(c);
	filter_refuse(s);
	if (filter_refused(s))
		reply_tempfail(c, no_reply_step);
	else
		reply_continue(c, no_reply_step); /* a message not buffered anyway */
}

/* The packet of command CMD that the budget had no room for has been
 * dropped: tell the MTA tempfail where it waits for a reply, and defer its
 * message.  False closes the connection (a command that cannot be
 * refused so). */
static bool conn_refused(struct conn *c, char cmd)
{
	switch (cmd) {
	case SMFIC_HEADER: refuse_message_data(c, SMFIP_NR_HDR); return true;
	case SMFIC_BODY: refuse_message_data(c, SMFIP_NR_BODY); return true;
	case SMFIC_BODYEOB: {
		filter_refuse(session_get(c));
		const struct mp_packet eob = {.cmd = SMFIC_BODYEOB};
		on_end_of_message(c, &eob); /* deferred there, with its log line */
		return true;
	}
	case SMFIC_CONNECT: reply_tempfail(c, SMFIP_NR_CONN); return true;
	case SMFIC_HELO: reply_tempfail(c, SMFIP_NR_HELO); return true;
	case SMFIC_RCPT: reply_tempfail(c, SMFIP_NR_RCPT); return true;
	case SMFIC_UNKNOWN: reply_tempfail(c, SMFIP_NR_UNKN); return true;
	case SMFIC_MAIL:
	case SMFIC_DATA: mp_put(c->out, SMFIR_TEMPFAIL, NULL, 0); return true;
	case SMFIC_MACRO: return true; /* the macros are not known, as when the MTA sends none */
	default:
		log_msg(
		    LOG_ERR,
		    "milter protocol: command 0x%02x too large for the memory budget; closing the connection",
		    (unsigned char)cmd);
		return false;
	}
}

/* The budget is full: a line a second per loop at most, with the count of
 * packets refused meanwhile. */
static void log_refusal(struct loop *lp, size_t size)
{
	struct budget *b = filter_budget(lp->srv->f);
	gint64 now = g_get_monotonic_time();
	lp->refusals++;
	if (now - lp->refusal_logged < G_USEC_PER_SEC)
		return;
	log_msg(LOG_WARNING,
	        "limits.memory-budget is full (%zu of %zu MB held): %u packet(s) refused, the last of %zu "
	        "bytes; their messages are deferred (tempfail)",
	        budget_used(b) >> 20, budget_limit(b) >> 20, lp->refusals, size);
	lp->refusals = 0;
	lp->refusal_logged = now;
}

/* The packet at in_off is not whole yet: wait for the rest, with budget
 * for all of it unless it is small; without room, or when it belongs to a
 * message deferred already, drop it as it comes.  False when dropping. */
static bool conn_hold(struct conn *c)
{
	char cmd;
	size_t size;
	if (c->reserved > 0 || !mp_head(c->in->data + c->in_off, c->in->len - c->in_off, &cmd, &size) ||
	    size <= SMALL_PACKET)
		return true;
	bool deferred =
	    c->session && filter_refused(c->session) && (cmd == SMFIC_HEADER || cmd == SMFIC_BODY);
	if (!deferred && budget_take(conn_budget(c), size)) {
		c->reserved = size;
		return true;
	}
	if (!deferred)
		log_refusal(c->lp, size);
	c->dropping = size;
	c->dropped_cmd = cmd;
	return false;
}

/* Drop what has come of the packet being dropped; once all of it has,
 * answer for it (conn_refused).  False when the connection must close. */
static bool conn_drop(struct conn *c)
{
	size_t n = MIN(c->dropping, c->in->len - c->in_off);
	c->in_off += n;
	c->dropping -= n;
	return c->dropping > 0 || conn_refused(c, c->dropped_cmd);
}

/* One command from the MTA; false closes the connection. */
static bool conn_dispatch(struct conn *c, const struct mp_packet *p)
{
	const char *argv[2];
	struct filter_session *s;
	switch (p->cmd) {
	case SMFIC_OPTNEG: return on_optneg(c, p);
	case SMFIC_MACRO: {
		char stage;
		return mp_parse_macros(p->data, p->len, &stage, take_macro, c);
	}
	case SMFIC_CONNECT: on_connect(c, p); return true;
	case SMFIC_HELO: reply_continue(c, SMFIP_NR_HELO); return true;
	case SMFIC_MAIL:
		if (mp_strings(p->data, p->len, argv, 1) < 1)
			return false;
		s = session_get(c);
		if (c->daemon_name)
			filter_set_daemon_name(s, c->daemon_name);
		reply_status(c->out, filter_mail(s, argv[0], c->auth_authen), NULL);
		g_clear_pointer(&c->auth_authen, g_free); /* sent again with the next MAIL */
		return true;
	case SMFIC_RCPT:
		if (mp_strings(p->data, p->len, argv, 1) < 1)
			return false;
		filter_rcpt(session_get(c), argv[0]);
		reply_continue(c, SMFIP_NR_RCPT);
		return true;
	case SMFIC_DATA: reply_status(c->out, filter_data(session_get(c)), NULL); return true;
	case SMFIC_HEADER:
		if (mp_strings(p->data, p->len, argv, 2) < 2)
			return false;
		filter_header(session_get(c), argv[0], argv[1]);
		reply_continue(c, SMFIP_NR_HDR);
		return true;
	case SMFIC_EOH:
		filter_end_of_headers(session_get(c));
		reply_continue(c, SMFIP_NR_EOH);
		return true;
	case SMFIC_BODY:
		filter_body(session_get(c), p->data, p->len);
		reply_continue(c, SMFIP_NR_BODY);
		return true;
	case SMFIC_BODYEOB: on_end_of_message(c, p); return true;
	case SMFIC_ABORT:
		if (c->session)
			filter_abort(c->session);
		conn_forget_message(c);
		return true;
	case SMFIC_UNKNOWN: reply_continue(c, SMFIP_NR_UNKN); return true;
	case SMFIC_QUIT_NC: /* the same MTA connection, a new SMTP session */
		g_clear_pointer(&c->session, filter_session_free);
		g_clear_pointer(&c->daemon_name, g_free);
		g_clear_pointer(&c->auth_authen, g_free);
		conn_forget_message(c);
		return true;
	case SMFIC_QUIT: return false;
	default:
		log_msg(LOG_ERR, "milter protocol: unknown command 0x%02x; closing the connection",
		        (unsigned char)p->cmd);
		return false;
	}
}

/* Handle every whole command read so far, up to an end of message handed
 * to a judge, then send the replies.  False when the connection is closed
 * (C is freed). */
static bool conn_process(struct conn *c)
{
	while (c->job == NULL) {
		if (c->dropping > 0) {
			bool more = c->dropping > c->in->len - c->in_off;
			if (!conn_drop(c)) {
				conn_flush(c);
				conn_close(c);
				return false;
			}
			if (more)
				break;
			continue;
		}
		struct mp_packet p;
		enum mp_cut cut = mp_cut(c->in->data + c->in_off, c->in->len - c->in_off, &p);
		if (cut == MP_NEED_MORE) {
			if (conn_hold(c))
				break;
			continue;
		}
		if (cut == MP_BAD) {
			log_msg(LOG_ERR, "milter protocol: bad packet length; closing the connection");
			conn_close(c);
			return false;
		}
		c->in_off += p.used;
		conn_unreserve(c);
		if (!conn_dispatch(c, &p)) {
			conn_flush(c);
			conn_close(c);
			return false;
		}
	}
	/* Keep a partial packet where it is unless moving it is cheap or the
	 * buffer has grown: a 64 KB body chunk often spans two reads. */
	if (c->in_off == c->in->len) {
		g_byte_array_set_size(c->in, 0);
		c->in_off = 0;
	} else if (c->in_off > 0 && (c->in->len - c->in_off <= 4096 || c->in_off >= BIG_BUFFER)) {
		g_byte_array_remove_range(c->in, 0, (guint)c->in_off);
		c->in_off = 0;
	}
	if (!conn_flush(c)) {
		conn_close(c);
		return false;
	}
	return true;
}

static void conn_readable(struct conn *c)
{
	size_t have = c->in->len;
	g_byte_array_set_size(c->in, (guint)(have + READ_CHUNK));
	ssize_t n;
	do
		n = recv(c->fd, c->in->data + have, READ_CHUNK, 0);
	while (n < 0 && errno == EINTR);
	g_byte_array_set_size(c->in, (guint)(have + (n > 0 ? (size_t)n : 0)));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_close(c);
		return;
	}
	c->last_active = c->lp->clock;
	c->in_peak = MAX(c->in_peak, c->in->len);
	if (conn_process(c) && c->in_peak > BIG_BUFFER && c->in->len == 0) {
		g_byte_array_unref(c->in);
		c->in = g_byte_array_new();
		budget_freed(conn_budget(c), c->in_peak);
		c->in_peak = 0;
	}
}

static void conn_new(struct loop *lp, int fd)
{
	struct conn *c = g_new0(struct conn, 1);
	c->lp = lp;
	c->fd = fd;
	c->link.data = c;
	c->in = lp->spare_in ? lp->spare_in : g_byte_array_new();
	lp->spare_in = NULL;
	c->out = g_byte_array_new();
	c->events = EPOLLIN;
	c->last_active = lp->clock;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		log_msg(LOG_ERR, "epoll: %s", strerror(errno));
		close(fd);
		g_byte_array_unref(c->in);
		g_byte_array_unref(c->out);
		g_free(c);
		return;
	}
	g_queue_push_tail_link(&lp->conns, &c->link);
}

/* A judge's answer for J: send it, give the session back to the
 * connection, and go on with what the MTA sent after the end of message. */
static void conn_answered(struct job *j)
{
	struct conn *c = j->c;
	j->lp->jobs--;
	if (c != NULL) {
		c->job = NULL;
		c->session = j->session;
		j->session = NULL;
		g_byte_array_append(c->out, j->a.out->data, j->a.out->len);
		c->last_active = c->lp->clock; /* the MTA's turn starts now */
	}
	job_free(j); /* with the session of a connection gone meanwhile */
	if (c != NULL)
		conn_process(c);
}

/* Answer the connections whose messages the judges have judged. */
static void loop_answer(struct loop *lp)
{
	uint64_t wakes;
	ssize_t r = read(lp->answer_fd, &wakes, sizeof wakes);
	(void)r;
	struct judges *js = lp->srv->judges;
	g_mutex_lock(&js->lock);
	GQueue done = lp->answered;
	g_queue_init(&lp->answered);
	g_mutex_unlock(&js->lock);
	GList *l;
	while ((l = g_queue_pop_head_link(&done)) != NULL)
		conn_answered(l->data);
}

static void accept_all(struct loop *lp)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Out of descriptors: stop accepting until the next tick. */
				log_msg(LOG_WARNING, "accept: %s; pausing for a second", strerror(errno));
				epoll_ctl(lp->ep, EPOLL_CTL_DEL, listen_fd, NULL);
				lp->listening = false;
			}
			return;
		}
		int one = 1;
		if (!listen_unix_socket) /* TCP: no Nagle stall between two replies */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conn_new(lp, fd);
	}
}

/* ---- reload and upkeep, off the loops --------------------------------- */

static gpointer reload_thread(gpointer data)
{
	struct server *srv = data;
	do {
		g_atomic_int_set(&srv->reload_again, 0);
		daemon_reload(srv->f);
	} while (g_atomic_int_get(&srv->reload_again));
	g_atomic_int_set(&srv->reloading, 0);
	return NULL;
}

static gpointer upkeep_thread(gpointer data)
{
	struct server *srv = data;
	daemon_upkeep(srv->f, srv->cfg);
	g_atomic_int_set(&srv->upkeeping, 0);
	return NULL;
}

/* Start FN on a thread of its own unless one runs (*BUSY); the thread of
 * the previous run, which has ended, is joined first.  Loop 0 only. */
static void run_aside(struct server *srv, gint *busy, GThread **thread, const char *name, GThreadFunc fn)
{
	if (!g_atomic_int_compare_and_exchange(busy, 0, 1))
		return;
	if (*thread)
		g_thread_join(*thread);
	*thread = g_thread_new(name, fn, srv);
}

static void reload(struct server *srv)
{
	g_atomic_int_set(&srv->reload_again, 1);
	run_aside(srv, &srv->reloading, &srv->reloader, "reload", reload_thread);
}

/* ---- signals, timers, the loops --------------------------------------- */

static void take_signals(struct server *srv)
{
	struct signalfd_siginfo si;
	while (read(srv->sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGUSR1:
		case SIGHUP: reload(srv); break;
		case SIGTERM:
		case SIGINT:
		case SIGUSR2:
			if (g_atomic_int_get(&srv->stopping)) {
				log_msg(LOG_WARNING, "second stop signal: stopping now");
				g_atomic_int_set(&srv->stop_deadline, 0);
				break;
			}
			log_msg(LOG_NOTICE, "stopping: finishing %u message(s) in flight",
			        filter_in_flight(srv->f));
			g_atomic_int_set(&srv->stop_deadline, (gint)(g_get_monotonic_time() / G_USEC_PER_SEC +
			                                             srv->cfg->drain_timeout));
			filter_stop_taking(srv->f);
			g_atomic_int_set(&srv->stopping, 1);
			break;
		}
	}
}

/* Whether the MTA has sent something the loop has not read yet. */
static bool conn_has_input(const struct conn *c)
{
	char byte;
	return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Once a tick: close sessions the MTA left idle, resume accepting, upkeep.
 * Idleness is on the loop's clock; a session waiting for its judgement or
 * with a command not read yet waits on us, not on the MTA, unless it is not
 * read because the MTA leaves its replies unread. */
static void tick(struct loop *lp, gint64 now)
{
	struct server *srv = lp->srv;
	gint64 idle = srv->cfg->milter_timeout * G_USEC_PER_SEC;
	for (GList *l = lp->conns.head; l;) {
		struct conn *c = l->data;
		l = l->next;
		bool unread = c->out->len - c->out_off > MAX_UNSENT;
		if (c->job == NULL && lp->clock - c->last_active > idle && (unread || !conn_has_input(c))) {
			if (unread)
				log_msg(LOG_ERR,
				        "milter protocol: the MTA does not read the replies (%zu bytes "
				        "unread); closing the connection",
				        (size_t)(c->out->len - c->out_off));
			else
				log_msg(LOG_INFO, "closing a connection the MTA left idle");
			conn_close(c);
		}
	}
	if (!lp->listening) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &tag_listen};
		lp->listening = epoll_ctl(lp->ep, EPOLL_CTL_ADD, listen_fd, &ev) == 0;
	}
	/* A reload asked for just as the last one finished found it still running. */
	if (lp->signals && g_atomic_int_get(&srv->reload_again))
		run_aside(srv, &srv->reloading, &srv->reloader, "reload", reload_thread);
	if (lp->signals && now >= lp->next_upkeep) {
		run_aside(srv, &srv->upkeeping, &srv->upkeeper, "upkeep", upkeep_thread);
		lp->next_upkeep = now + srv->cfg->store_retry * G_USEC_PER_SEC;
	}
}

/* Whether a stopping daemon may exit: nothing in flight and every answer
 * of a judge sent (a message leaves the count in flight just before its
 * answer reaches the loop), or out of time. */
static bool may_exit(struct loop *lp, gint64 now)
{
	struct server *srv = lp->srv;
	if (!g_atomic_int_get(&srv->stopping))
		return false;
	if (filter_in_flight(srv->f) == 0 && lp->jobs == 0)
		return true;
	if (now / G_USEC_PER_SEC < g_atomic_int_get(&srv->stop_deadline))
		return false;
	if (lp->signals)
		log_msg(LOG_WARNING, "stopping with %u message(s) still in flight", filter_in_flight(srv->f));
	return true;
}

static gpointer serve(gpointer data)
{
	struct loop *lp = data;
	struct epoll_event evs[64];
	gint64 now = g_get_monotonic_time();
	gint64 next_tick = now + TICK_MS * 1000;
	for (;;) {
		int timeout = g_atomic_int_get(&lp->srv->stopping) ? TICK_MS / 10 : TICK_MS;
		int n = epoll_wait(lp->ep, evs, G_N_ELEMENTS(evs), timeout);
		gint64 woke = g_get_monotonic_time();
		lp->clock += woke - now; /* all the time waited counts */
		if (n < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "epoll_wait: %s", strerror(errno));
			break;
		}
		bool answers = false;
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_listen)
				accept_all(lp);
			else if (tag == &tag_signal)
				take_signals(lp->srv);
			else if (tag == &tag_answers)
				answers = true; /* after the others: an answer may close a connection */
			else if (evs[i].events & EPOLLIN)
				conn_readable(tag);
			else if (evs[i].events & (EPOLLERR | EPOLLHUP))
				conn_close(tag);
			else if (evs[i].events & EPOLLOUT && !conn_flush(tag))
				conn_close(tag);
		}
		if (answers)
			loop_answer(lp);
		now = g_get_monotonic_time();
		lp->clock += MIN(now - woke, TURN_COUNTED); /* and a little of the work */
		if (now >= next_tick) {
			tick(lp, now);
			next_tick = now + TICK_MS * 1000;
		}
		if (may_exit(lp, now))
			break;
	}
	while (lp->conns.head)
		conn_close(lp->conns.head->data);
	if (lp->spare_in)
		g_byte_array_unref(lp->spare_in);
	return NULL;
}

static bool loop_init(struct loop *lp, struct server *srv, bool signals)
{
	lp->srv = srv;
	lp->signals = signals;
	lp->next_upkeep = g_get_monotonic_time(); /* the first at the first tick: reconcile at start */
	g_queue_init(&lp->conns);
	g_queue_init(&lp->answered);
	lp->ep = epoll_create1(EPOLL_CLOEXEC);
	lp->answer_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &tag_listen};
	struct epoll_event aev = {.events = EPOLLIN, .data.ptr = &tag_answers};
	lp->listening = lp->ep >= 0 && lp->answer_fd >= 0 &&
	                epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->answer_fd, &aev) == 0 &&
	                epoll_ctl(lp->ep, EPOLL_CTL_ADD, listen_fd, &ev) == 0;
	if (!lp->listening)
		return false;
	struct epoll_event sev = {.events = EPOLLIN, .data.ptr = &tag_signal};
	return !signals || epoll_ctl(lp->ep, EPOLL_CTL_ADD, srv->sig_fd, &sev) == 0;
}

int frontend_run(struct filter *f, const struct config *cfg, bool *idle)
{
	struct server srv = {.f = f, .cfg = cfg};
	sigset_t set; /* the signals daemon.c blocked for us */
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	srv.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	int n = cfg->workers > 0 ? cfg->workers : (int)g_get_num_processors();
	struct loop *loops = g_new0(struct loop, n);
	for (int i = 0; i < n; i++)
		loops[i].ep = loops[i].answer_fd = -1;
	srv.judges = judges_start(n);
	int rc = 0, started = 1;
	if (srv.sig_fd < 0 || !loop_init(&loops[0], &srv, true)) {
		log_msg(LOG_ERR, "event loop: %s", strerror(errno));
		rc = EX_OSERR;
		n = 1;
	}
	for (; rc == 0 && started < n; started++) {
		if (!loop_init(&loops[started], &srv, false)) {
			log_msg(LOG_ERR, "event loop: %s", strerror(errno));
			break;
		}
		loops[started].thread = g_thread_new("loop", serve, &loops[started]);
	}
	if (rc == 0)
		serve(&loops[0]);
	for (int i = 1; i < started; i++)
		g_thread_join(loops[i].thread);
	if (srv.reloader)
		g_thread_join(srv.reloader);
	if (srv.upkeeper)
		g_thread_join(srv.upkeeper);
	*idle = judges_stop(srv.judges, loops, n, f);
	for (int i = 0; i < n; i++) {
		if (loops[i].ep >= 0)
			close(loops[i].ep);
		if (loops[i].answer_fd >= 0)
			close(loops[i].answer_fd);
	}
	g_free(loops);
	if (srv.sig_fd >= 0)
		close(srv.sig_fd);
	close(listen_fd);
	listen_fd = -1;
	return rc;
}

/* ---- the listening socket --------------------------------------------- */

static int listen_unix(const struct config *cfg, const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "apology-milter: socket path too long: %s\n", path);
		return EX_CONFIG;
	}
	strcpy(sa.sun_path, path);
	struct stat sb;
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
		unlink(path); /* left by an earlier run */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	umask(old);
	if (!ok || chmod(path, (mode_t)cfg->socket_mode) != 0 ||
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) ||
	    listen(fd, SOMAXCONN) != 0) {
		fprintf(stderr, "apology-milter: cannot listen on %s: %s\n", cfg->socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_UNAVAILABLE;
	}
	listen_fd = fd;
	listen_unix_socket = true;
	return 0;
}

static int listen_inet(const struct config *cfg, int family, const char *spec)
{
	char *port = g_strdup(spec);
	char *host = strchr(port, '@');
	if (host)
		*host++ = '\0';
	struct addrinfo hints = {
	    .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host && *host ? host : NULL, port, &hints, &ai);
	g_free(port);
	if (gai != 0) {
		fprintf(stderr, "apology-milter: %s: %s\n", cfg->socket, gai_strerror(gai));
		return EX_CONFIG;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
	          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 &&
	          bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
	freeaddrinfo(ai);
	if (!ok) {
		fprintf(stderr, "apology-milter: cannot listen on %s: %s\n", cfg->socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EX_UNAVAILABLE;
	}
	listen_fd = fd;
	return 0;
}

int frontend_listen(const struct config *cfg, uid_t uid, gid_t gid)
{
	const char *spec = cfg->socket;
	const char *path = config_socket_path(spec);
	if (path != NULL)
		return listen_unix(cfg, path, uid, gid);
	if (g_str_has_prefix(spec, "inet6:"))
		return listen_inet(cfg, AF_INET6, spec + 6);
	if (g_str_has_prefix(spec, "inet:"))
		return listen_inet(cfg, AF_INET, spec + 5);
	fprintf(stderr, "apology-milter: unknown socket type: %s\n", spec);
	return EX_CONFIG;
}
