// The hiredis event hooks on Asio. hiredis may free its context from inside
// redisAsyncHandleRead/Write (connection lost, connect refused); cleanup then clears context_,
// and the handlers, which hold a shared_ptr to the adapter, check it before every use.
#include "sessions/redis/asio_adapter.hpp"

#include <hiredis/async.h>

#include <boost/asio/post.hpp>

#include "tigerfans/core/assert.hpp"

namespace tigerfans::sessions::redis {

namespace {
AsioAdapter& adapter_of(void* self) {
    TF_ASSERT(self != nullptr);
    return *static_cast<AsioAdapter*>(self);
}
}  // namespace

std::shared_ptr<AsioAdapter> AsioAdapter::attach(asio::any_io_executor executor,
                                                 redisAsyncContext* context, AdapterHooks hooks,
                                                 boost::system::error_code& error) {
    TF_ASSERT(context != nullptr);
    TF_ASSERT(context->ev.data == nullptr);
    TF_ASSERT(context->c.fd >= 0);
    auto adapter = std::make_shared<AsioAdapter>(std::move(executor), context, std::move(hooks));
    adapter->descriptor_.assign(context->c.fd, error);
    if (error) return nullptr;
    context->ev.data = adapter.get();
    context->ev.addRead = &AsioAdapter::add_read;
    context->ev.delRead = &AsioAdapter::del_read;
    context->ev.addWrite = &AsioAdapter::add_write;
    context->ev.delWrite = &AsioAdapter::del_write;
    context->ev.cleanup = &AsioAdapter::cleanup;
    return adapter;
}

AsioAdapter::AsioAdapter(asio::any_io_executor executor, redisAsyncContext* context,
                         AdapterHooks hooks)
    : context_(context), descriptor_(executor), hooks_(std::move(hooks)) {}

void AsioAdapter::add_read(void* self) {
    AsioAdapter& adapter = adapter_of(self);
    adapter.reading_ = true;
    adapter.arm_read();
}

void AsioAdapter::del_read(void* self) { adapter_of(self).reading_ = false; }

void AsioAdapter::add_write(void* self) {
    AsioAdapter& adapter = adapter_of(self);
    adapter.writing_ = true;
    adapter.arm_write();
}

void AsioAdapter::del_write(void* self) { adapter_of(self).writing_ = false; }

void AsioAdapter::cleanup(void* self) { adapter_of(self).detach(); }

// Idempotent: at most one wait per direction, however often hiredis asks in one turn.
void AsioAdapter::arm(Wait direction, bool& armed, Ready ready) {
    if (armed || context_ == nullptr) return;
    armed = true;
    descriptor_.async_wait(direction, [self = shared_from_this(), ready](const Error& error) {
        ((*self).*ready)(error);
    });
}

void AsioAdapter::arm_read() { arm(Wait::wait_read, read_armed_, &AsioAdapter::on_readable); }

// A connected socket whose last flush drained the output is taken to be writable: the flush is
// posted to the loop instead of waiting for readiness, which costs the reactor a system call
// (epoll_ctl) per wait. Before the connection is up (hiredis learns of the connect's end through
// write readiness) and after a flush the socket did not take whole, the wait is real.
void AsioAdapter::arm_write() {
    const bool connected = context_ != nullptr && (context_->c.flags & REDIS_CONNECTED) != 0;
    if (!connected || write_blocked_) {
        arm(Wait::wait_write, write_armed_, &AsioAdapter::on_writable);
        return;
    }
    if (write_armed_) return;
    write_armed_ = true;
    asio::post(descriptor_.get_executor(),
               [self = shared_from_this()] { self->on_writable(Error{}); });
}

void AsioAdapter::on_readable(const Error& error) {
    read_armed_ = false;
    if (error || context_ == nullptr || !reading_) return;
    redisAsyncHandleRead(context_);  // May free the context.
    if (context_ != nullptr && reading_) arm_read();
}

void AsioAdapter::on_writable(const Error& error) {
    write_armed_ = false;
    if (error || context_ == nullptr || !writing_) return;
    if (hooks_.before_write) hooks_.before_write();
    redisAsyncHandleWrite(context_);  // May free the context.
    write_blocked_ = context_ != nullptr && writing_;
    if (write_blocked_) arm_write();
}

void AsioAdapter::detach() {
    if (context_ == nullptr) return;  // Newer hiredis versions may clean up twice.
    const redisAsyncContext& context = *context_;
    context_ = nullptr;
    reading_ = false;
    writing_ = false;
    // Deregisters the socket and aborts pending waits, but leaves it open for hiredis to close.
    descriptor_.release();
    if (hooks_.on_cleanup) hooks_.on_cleanup(context);
}

}  // namespace tigerfans::sessions::redis
