/*
 * sendmail_queue.h - what the root helper apology-postsuper needs to know of
 * a Sendmail queue: the form of its queue ids, where sendmail.cf puts the
 * queue, and whether a quarantined queue file (hf<id>) is the reviewed
 * message.  Reading only: the helper runs sendmail itself to release.
 *
 * libc only; no allocation.  WHY receives a sentence for the caller.
 */
#ifndef APOLOGY_SENDMAIL_QUEUE_H
#define APOLOGY_SENDMAIL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

/* Is ID a Sendmail queue id: eight characters of Sendmail's base-60
 * alphabet (0-9, A-Z, a-x: year, month, day, hour, minute, second and a
 * two-character sequence) followed by the process id, 5 to 10 digits? */
bool sendmail_queue_id_valid(const char *id);

/* Copy the QueueDirectory of the sendmail.cf text CF into DIR (SIZE
 * bytes).  False with WHY set when there is none, or when it is not one
 * plain absolute directory (queue groups and wildcards are not
 * supported). */
bool sendmail_queue_dir(const char *cf, char *dir, size_t size, char *why, size_t why_size);

enum sendmail_held { SM_HELD_YES, SM_HELD_NOT_QUARANTINED, SM_HELD_OTHER_MESSAGE };

/* Read the queue file TEXT (the whole hf or qf file): is it quarantined (a
 * "q" line) and does its header section carry "HEADER: TOKEN"? */
enum sendmail_held sendmail_queue_file_check(const char *text, const char *header, const char *token);

#endif
