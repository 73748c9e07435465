/*
 * session.h - one call of the caller-driven API: decam_begin() to
 * decam_finish(). A session explains its items (decam_item), each with a
 * run of its own (run.h), and gathers what the runs want scored into
 * requests of up to the batch size, images of several items side by side.
 * decam_explain() and decam_explain_items() are a session with the model
 * callback answering its requests (explain.c).
 *
 * Items start in order as the requests need images (so the runs' memory
 * follows the batch size) and are released as they finish; what grows
 * with the item count is the copy of the items and a pointer each.
 * A request takes the waiting images of the oldest runs first, all of one
 * size. The runs never learn how their images were batched, so each
 * item's maps are those of a session of that item alone.
 */
#ifndef DECAM_SESSION_H
#define DECAM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "context.h"
#include "run.h"

typedef struct session session;

/* How decam__session_begin() checks: for the caller (ask/tell), for the
 * model callback (a model set, items of one size), or for decam_explain()
 * (the callback's, naming the arguments as decam_explain() has them). */
enum { SESSION_CALLER = 0, SESSION_CALLBACK = 1, SESSION_SINGLE = 2 };

/* Resets the context's statistics, checks the items (image and output
 * pointers, sizes, targets, the method's inputs and budget) and starts a
 * session on ctx (ctx->session; the context is busy). `who` names the
 * public function in messages. Queries nothing. On failure nothing is
 * left allocated and the context is idle. */
decam_status decam__session_begin(decam_ctx *ctx, const char *who, const decam_item *items,
                                  size_t n_items, int mode);

/* The same with method m rather than DECAM_PARAM_METHOD's (tests give
 * methods of their own); NULL m: DECAM_ERR_UNSUPPORTED. */
decam_status decam__session_begin_method(decam_ctx *ctx, const char *who, const method_info *m,
                                         const decam_item *items, size_t n_items, int mode);

/* Stops the session with `status` (its message is the context's now);
 * returns status. */
decam_status decam__session_stop(session *s, decam_status status);

/* The next request: images, count (0 when no more are needed or the
 * session stopped), size. Asking again before a tell gives the same. */
decam_status decam__session_ask(session *s, decam_request *out);

/* Scores for the request's n images (n * n_outputs floats). */
decam_status decam__session_tell(session *s, const float *scores, size_t n);

/* Records that the model failed on the request (the model callback's
 * nonzero return `rc`): the images count as spent. */
decam_status decam__session_model_failed(session *s, int rc);

/* Answers the session's requests with the model callback until it needs
 * no more images or stops, then ends it (decam__session_finish()): what
 * decam_explain() and decam_explain_items() do. */
decam_status decam__session_drive(session *s);

/* Ends the session: maps and statistics, the context idle, the session
 * freed. Returns the session's outcome. */
decam_status decam__session_finish(session *s);

/* Ends the session writing no map. */
void decam__session_cancel(session *s);

#endif /* DECAM_SESSION_H */
