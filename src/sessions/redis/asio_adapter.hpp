// hiredis joined to the loop, in the shape of hiredis' own adapters (libevent, libev): hiredis
// calls addRead/delRead/addWrite/delWrite when it wants readiness, and cleanup when its context
// is freed; we answer readiness with redisAsyncHandleRead/Write. Readiness comes from one-shot
// async_wait()s on a posix::stream_descriptor over hiredis' socket. The descriptor never owns the
// socket: hiredis closes it, so cleanup release()s it first.
//
// Pipelining falls out of the write side: hiredis appends every command to its output buffer and
// calls addWrite, which arms at most one flush; when it runs (a later turn of the loop),
// everything appended meanwhile leaves in one write. The flush is posted to the loop while the
// socket takes what is written, and waits for write readiness only while it does not.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>

struct redisAsyncContext;  // hiredis

namespace tigerfans::sessions::redis {

namespace asio = boost::asio;

struct AdapterHooks {
    std::function<void()> before_write;  // hiredis is about to flush its output buffer.
    // hiredis is freeing the context: every pending reply callback has run (with no reply).
    std::function<void(const redisAsyncContext& context)> on_cleanup;
};

class AsioAdapter : public std::enable_shared_from_this<AsioAdapter> {
public:
    // Installs the hooks on a context that has none yet. The adapter must outlive the context
    // (pending waits also keep it alive). On failure the context is left untouched.
    static std::shared_ptr<AsioAdapter> attach(asio::any_io_executor executor,
                                               redisAsyncContext* context, AdapterHooks hooks,
                                               boost::system::error_code& error);

    AsioAdapter(asio::any_io_executor executor, redisAsyncContext* context, AdapterHooks hooks);
    AsioAdapter(const AsioAdapter&) = delete;
    AsioAdapter& operator=(const AsioAdapter&) = delete;

    bool attached() const { return context_ != nullptr; }

private:
    using Error = boost::system::error_code;
    using Wait = asio::posix::stream_descriptor::wait_type;
    using Ready = void (AsioAdapter::*)(const Error& error);

    static void add_read(void* self);
    static void del_read(void* self);
    static void add_write(void* self);
    static void del_write(void* self);
    static void cleanup(void* self);

    void arm(Wait direction, bool& armed, Ready ready);
    void arm_read();
    void arm_write();
    void on_readable(const Error& error);
    void on_writable(const Error& error);
    void detach();

    redisAsyncContext* context_;  // nullptr once hiredis cleaned up.
    asio::posix::stream_descriptor descriptor_;
    AdapterHooks hooks_;
    bool reading_ = false;  // hiredis wants read readiness.
    bool writing_ = false;  // hiredis wants write readiness.
    bool read_armed_ = false;
    bool write_armed_ = false;
    bool write_blocked_ = false;  // The last flush left bytes the socket did not take.
};

}  // namespace tigerfans::sessions::redis
