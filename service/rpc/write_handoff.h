// WriteHandoff: when a reactor's StartWrite is over, as far as the reactor's own threads can
// tell.
//
// gRPC serializes the message inside StartWrite, on the calling thread (often a fetch engine
// loop), and reports the end of the write in OnWriteDone on one of its own threads. The two are
// ordered only inside gRPC (its completion queue and futexes): nothing in the reactor's own
// synchronization says the serialization finished before OnWriteDone lets another thread reuse
// the message, or before another thread starts the next write on the same call. That holds in
// practice, but it is invisible to ThreadSanitizer (Debian's gRPC is not instrumented) and to
// any reader of the reactor.
//
// So a write counts as over only when both have happened: OnWriteDone ran, and the thread that
// called StartWrite came back from it and said so under the reactor's mutex. Whichever comes
// second does the reactor's write-done bookkeeping. Until then the write keeps the call alive,
// so the starting thread may still touch the reactor after StartWrite returns.
//
// Not thread-safe by itself: every call is made with the owning reactor's mutex held.
#ifndef GATHER_SERVICE_RPC_WRITE_HANDOFF_H_
#define GATHER_SERVICE_RPC_WRITE_HANDOFF_H_

namespace gather::rpc {

class WriteHandoff {
 public:
  // A write was decided (the reactor will call StartWrite once its mutex is released).
  void Begin() {
    parts_left_ = 2;
    ok_ = true;
  }
  // The starting thread is back from StartWrite. True when the write is now over.
  bool Returned() { return --parts_left_ == 0; }
  // OnWriteDone(ok) ran. True when the write is now over.
  bool Done(bool ok) {
    ok_ = ok;
    return --parts_left_ == 0;
  }
  // Whether a write is between Begin and its second part.
  bool active() const { return parts_left_ > 0; }
  // What OnWriteDone said (valid once the write is over).
  bool ok() const { return ok_; }

 private:
  int parts_left_ = 0;
  bool ok_ = true;
};

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_WRITE_HANDOFF_H_
