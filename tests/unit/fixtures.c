/*
 * fixtures.c - the records the store's tests and benchmarks write
 * (fixtures.h).  Values only: nothing here opens a store or fails a test.
 */
#include <glib.h>

#include "fixtures.h"

struct store_quarantine fixture_hold(const char *token)
{
	return (struct store_quarantine){
	    .queue_id = "4AbCdE1234",
	    .message_id = "reply-4471@acme.example",
	    .token = (char *)token,
	    .sender = "sam@acme.example",
	    .recipients = "dana@client.example",
	    .verdict = "hold",
	    .score = 9,
	    .findings_json = "{}",
	    .created = 1700000000,
	    .state = "held",
	};
}

void fixture_complaint(struct store_quarantine *q, const char *severity, gint64 sent, const char *text)
{
	q->complaint_recorded = true;
	q->complaint_detected = true;
	q->complaint_severity = (char *)severity;
	q->complaint_sent = sent;
	q->complaint_text = (char *)text;
}

void fixture_copy(struct store_quarantine *q, const char *raw, size_t len)
{
	q->raw = (char *)raw;
	q->raw_len = len;
}
