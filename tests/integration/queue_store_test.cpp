// The waiting room's queue stores against a real Redis and a real PostgreSQL, each case once per
// backend: the queue's order (pre-queue draws, then sale joins first come, first served),
// places, admissions numbered on across steps and never twice under concurrent steps from two
// store instances (as from two server processes), tickets counted up to the maximum under
// concurrent calls, and a fresh store instance (a server restart) finding every entry at its
// place. The Redis cases also restart redis-server, and check the keys and metrics it keeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "pg_test_helpers.hpp"
#include "sessions/postgres/queue_store.hpp"
#include "sessions/redis/queue_store.hpp"
#include "sessions/redis/store.hpp"
#include "support/redis_server.hpp"
#include "tigerfans/core/limits.hpp"
#include "tigerfans/queue/entry.hpp"
#include "tigerfans/queue/queue_store.hpp"

namespace tigerfans::queue {
namespace {

using asio::awaitable;

constexpr std::int64_t t0_us = 1'700'000'000'000'000;
constexpr std::uint32_t keep_s = 600;

struct RedisBackend {
    static constexpr bool restartable = true;

    std::unique_ptr<QueueStore> make(asio::io_context& io, metrics::Registry& registry,
                                     const std::string&) {
        return sessions::make_redis_queue_store(io.get_executor(), server.unix_url(), registry);
    }
    void restart() {
        server.stop();
        server.start();
    }

    testing::RedisServer server;
};

struct PostgresBackend {
    static constexpr bool restartable = false;  // The cluster is shared by the test processes.

    std::unique_ptr<QueueStore> make(asio::io_context& io, metrics::Registry& registry,
                                     const std::string& database_url) {
        return sessions::make_postgres_queue_store(io.get_executor(), database_url, registry);
    }
    void restart() {}
};

awaitable<int> stop_store(QueueStore& store) {
    co_await store.stop();
    co_return 0;
}

awaitable<int> stop_session_store(sessions::SessionStore& store) {
    co_await store.stop();
    co_return 0;
}

// The ids as the queue orders them: by key, then by id.
std::vector<std::string> in_queue_order(std::vector<Place> places) {
    std::sort(places.begin(), places.end(), queued_before);
    std::vector<std::string> ids;
    for (const Place& place : places) ids.push_back(place.entry_id);
    return ids;
}

std::vector<std::string> ids_of(const std::vector<AdmittedEntry>& admitted) {
    std::vector<std::string> ids;
    for (const AdmittedEntry& entry : admitted) ids.push_back(entry.entry_id);
    return ids;
}

template <typename Backend>
class QueueStoreTest : public testing::PgTest {
protected:
    void SetUp() override { store_ = &open_store(); }

    void TearDown() override {
        for (auto& store : stores_) run([&] { return stop_store(*store); });
    }

    QueueStore& open_store() {
        stores_.push_back(backend_.make(io_, registry_, database_url_));
        QueueStore& store = *stores_.back();
        EXPECT_TRUE(run([&] { return store.start(); }).ok());
        return store;
    }

    std::uint64_t join(const std::string& id, Phase phase, std::uint64_t draw_key = 0,
                       std::int64_t now_us = t0_us) {
        Result<std::uint64_t> key = run([&] { return store_->join(id, phase, draw_key, now_us); });
        EXPECT_TRUE(key.ok());
        return key.ok() ? *key : 0;
    }

    // Joins `count` entries at once (pre-queue draws from `draw`, or sale joins) and answers
    // their places.
    std::vector<Place> join_many(std::size_t count, Phase phase,
                                 std::uint64_t (*draw)(std::size_t) = nullptr) {
        std::vector<std::string> ids(count);
        for (std::string& id : ids) id = new_entry_id();
        auto keys = run_concurrently<Result<std::uint64_t>>(count, [&](std::size_t i) {
            const std::uint64_t draw_key = draw == nullptr ? 0 : raffle_key(draw(i));
            return store_->join(ids[i], phase, draw_key, t0_us + static_cast<std::int64_t>(i));
        });
        std::vector<Place> places;
        for (std::size_t i = 0; i < count; i++) {
            EXPECT_TRUE(keys[i].ok());
            if (keys[i].ok()) places.push_back({*keys[i], ids[i]});
        }
        return places;
    }

    std::optional<EntryStatus> status(const std::string& id, QueueStore* store = nullptr) {
        QueueStore& target = store == nullptr ? *store_ : *store;
        Result<std::optional<EntryStatus>> found = run([&] { return target.status(id); });
        EXPECT_TRUE(found.ok());
        return found.ok() ? *found : std::nullopt;
    }

    std::vector<AdmittedEntry> admit(std::uint64_t count, std::uint32_t keep = keep_s,
                                     QueueStore* store = nullptr) {
        QueueStore& target = store == nullptr ? *store_ : *store;
        auto admitted = run([&] { return target.admit(count, t0_us + 1'000'000, keep); });
        EXPECT_TRUE(admitted.ok());
        return admitted.ok() ? *admitted : std::vector<AdmittedEntry>();
    }

    bool use_ticket(const std::string& id, std::uint32_t max) {
        Result<bool> used = run([&] { return store_->use_ticket(id, max); });
        EXPECT_TRUE(used.ok());
        return used.ok() && *used;
    }

    void return_ticket(const std::string& id) {
        EXPECT_TRUE(run([&] { return store_->return_ticket(id); }).ok());
    }

    QueueCounts counts(QueueStore* store = nullptr) {
        QueueStore& target = store == nullptr ? *store_ : *store;
        Result<QueueCounts> counted = run([&] { return target.counts(); });
        EXPECT_TRUE(counted.ok());
        return counted.ok() ? *counted : QueueCounts{};
    }

    // Runs the loop until `store` answers again (after its service restarted); false when it
    // has not within 10 s.
    bool wait_available(QueueStore& store) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!run([&] { return store.counts(); }).ok()) {
            if (std::chrono::steady_clock::now() >= deadline) return false;
            io_.restart();
            io_.run_for(std::chrono::milliseconds(50));
        }
        return true;
    }

    // Every entry waits at its place: ahead = its index in `order`.
    void expect_places(const std::vector<std::string>& order, QueueStore* store = nullptr) {
        for (std::size_t i = 0; i < order.size(); i++) {
            const std::optional<EntryStatus> found = status(order[i], store);
            ASSERT_TRUE(found.has_value()) << i;
            EXPECT_EQ(found->state, EntryState::waiting) << i;
            EXPECT_EQ(found->ahead, i) << i;
        }
    }

    Backend backend_;
    std::vector<std::unique_ptr<QueueStore>> stores_;
    QueueStore* store_ = nullptr;
};

struct BackendNames {
    template <typename Backend>
    static std::string GetName(int) {
        return std::is_same_v<Backend, RedisBackend> ? "Redis" : "PostgreSQL";
    }
};

using Backends = ::testing::Types<RedisBackend, PostgresBackend>;
TYPED_TEST_SUITE(QueueStoreTest, Backends, BackendNames);

TYPED_TEST(QueueStoreTest, NamesItsBackend) {
    EXPECT_EQ(this->store_->backend_name(),
              (std::is_same_v<TypeParam, RedisBackend> ? "Redis" : "PostgreSQL"));
}

// Pre-queue entries stand in the order of their draws, whatever the order they joined in (two
// equal draws by id), and every sale join stands behind all of them, first come first served.
TYPED_TEST(QueueStoreTest, OrdersPreQueueByDrawAndSaleJoinsBehindInArrivalOrder) {
    const std::uint64_t draws[] = {key_value_max, 40, 7, 40, 0, 123'456'789'012'345};
    std::vector<Place> places;
    for (std::uint64_t draw : draws) {
        const std::string id = new_entry_id();
        EXPECT_EQ(this->join(id, Phase::prequeue, raffle_key(draw)), raffle_key(draw));
        places.push_back({raffle_key(draw), id});
    }
    std::vector<std::string> order = in_queue_order(places);
    for (std::uint64_t n = 1; n <= 3; n++) {
        const std::string id = new_entry_id();
        const std::uint64_t key = this->join(id, Phase::sale, raffle_key(99));
        EXPECT_EQ(key_phase(key), Phase::sale);
        EXPECT_GT(key, places.back().key);  // Sequence numbers only grow.
        places.push_back({key, id});
        order.push_back(id);
    }
    EXPECT_EQ(in_queue_order(places), order);
    this->expect_places(order);
    const std::optional<EntryStatus> last = this->status(order.back());
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->joined_at_us, t0_us);
    EXPECT_EQ(last->key, places.back().key);
    EXPECT_EQ(ids_of(this->admit(order.size())), order);
}

// The first sale join of a fresh store gets sequence number 1, the next 2.
TYPED_TEST(QueueStoreTest, CountsTheSaleSequenceFromOne) {
    EXPECT_EQ(this->join(new_entry_id(), Phase::sale), arrival_key(1));
    EXPECT_EQ(this->join(new_entry_id(), Phase::sale), arrival_key(2));
}

// A second join with a known id changes nothing: same key, same place, one join counted.
TYPED_TEST(QueueStoreTest, ASecondJoinOfAnIdChangesNothing) {
    const std::string first = new_entry_id();
    const std::string second = new_entry_id();
    const std::uint64_t key = this->join(first, Phase::prequeue, raffle_key(500));
    this->join(second, Phase::prequeue, raffle_key(600));
    EXPECT_EQ(this->join(first, Phase::sale, 0, t0_us + 5), key);
    EXPECT_EQ(this->join(first, Phase::prequeue, raffle_key(900), t0_us + 6), key);
    const std::optional<EntryStatus> found = this->status(first);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->key, key);
    EXPECT_EQ(found->joined_at_us, t0_us);
    EXPECT_EQ(found->ahead, 0u);
    const QueueCounts counted = this->counts();
    EXPECT_EQ(counted.joined, 2u);
    EXPECT_EQ(counted.waiting, 2u);
}

// Admission steps take the first entries in order and number them on across steps; fewer are
// taken when fewer wait; the counts follow.
TYPED_TEST(QueueStoreTest, AdmitsTheFirstEntriesNumberedOnAcrossSteps) {
    const std::vector<std::string> order = in_queue_order(this->join_many(10, Phase::sale));
    EXPECT_TRUE(this->admit(0).empty());
    const std::vector<AdmittedEntry> first = this->admit(3);
    const std::vector<AdmittedEntry> second = this->admit(4);
    ASSERT_EQ(first.size(), 3u);
    ASSERT_EQ(second.size(), 4u);
    for (std::size_t i = 0; i < 3; i++) {
        EXPECT_EQ(first[i].entry_id, order[i]);
        EXPECT_EQ(first[i].admitted_seq, i + 1);
    }
    for (std::size_t i = 0; i < 4; i++) {
        EXPECT_EQ(second[i].entry_id, order[3 + i]);
        EXPECT_EQ(second[i].admitted_seq, 4 + i);
    }
    const std::optional<EntryStatus> admitted = this->status(order[4]);
    ASSERT_TRUE(admitted.has_value());
    EXPECT_EQ(admitted->state, EntryState::admitted);
    EXPECT_EQ(admitted->admitted_seq, 5u);
    EXPECT_EQ(admitted->admitted_at_us, t0_us + 1'000'000);
    EXPECT_EQ(admitted->tickets_used, 0u);
    EXPECT_EQ(key_phase(admitted->key), Phase::sale);
    this->expect_places({order.begin() + 7, order.end()});
    EXPECT_EQ(this->counts().waiting, 3u);
    EXPECT_EQ(this->counts().admitted, 7u);

    const std::vector<AdmittedEntry> rest = this->admit(100);
    ASSERT_EQ(rest.size(), 3u);
    EXPECT_EQ(rest.back().entry_id, order.back());
    EXPECT_EQ(rest.back().admitted_seq, 10u);
    EXPECT_TRUE(this->admit(5).empty());
    const QueueCounts counted = this->counts();
    EXPECT_EQ(counted.waiting, 0u);
    EXPECT_EQ(counted.admitted, 10u);
    EXPECT_EQ(counted.joined, 10u);
}

// Admission steps running at once on two store instances admit each entry exactly once, with
// the numbers 1..n each once, each step's entries in queue order.
TYPED_TEST(QueueStoreTest, ConcurrentAdmissionStepsAdmitEachEntryOnce) {
    constexpr std::size_t entries = 1000;
    const std::vector<std::string> order = in_queue_order(this->join_many(
        entries, Phase::prequeue, [](std::size_t i) { return std::uint64_t{i} * 7919 % 1009; }));
    QueueStore& other = this->open_store();
    constexpr std::size_t steps = 24;  // 24 x 50 > 1000: the last steps find the queue empty.
    auto answers = this->template run_concurrently<Result<std::vector<AdmittedEntry>>>(
        steps, [&](std::size_t i) {
            QueueStore& store = i % 2 == 0 ? *this->store_ : other;
            return store.admit(50, t0_us, keep_s);
        });
    std::map<std::uint64_t, std::string> by_seq;
    std::set<std::string> ids;
    for (const auto& answer : answers) {
        ASSERT_TRUE(answer.ok());
        for (std::size_t i = 0; i < answer->size(); i++) {
            const AdmittedEntry& entry = (*answer)[i];
            EXPECT_TRUE(by_seq.emplace(entry.admitted_seq, entry.entry_id).second);
            EXPECT_TRUE(ids.insert(entry.entry_id).second) << entry.entry_id;
            if (i > 0) {
                EXPECT_EQ(entry.admitted_seq, (*answer)[i - 1].admitted_seq + 1);
            }
        }
    }
    ASSERT_EQ(by_seq.size(), entries);
    EXPECT_EQ(by_seq.begin()->first, 1u);
    EXPECT_EQ(by_seq.rbegin()->first, entries);
    std::vector<std::string> admitted_order;
    for (const auto& [seq, id] : by_seq) admitted_order.push_back(id);
    EXPECT_EQ(admitted_order, order);
    EXPECT_EQ(this->counts(&other).admitted, entries);
    EXPECT_EQ(this->counts().waiting, 0u);
}

// Tickets are counted up to the maximum only for an admitted entry; a returned one can be
// counted again; returns never go below zero.
TYPED_TEST(QueueStoreTest, CountsTicketsUpToTheMaximumAndTakesThemBack) {
    const std::string id = new_entry_id();
    this->join(id, Phase::sale);
    EXPECT_FALSE(this->use_ticket(id, 4));  // Still waiting.
    this->return_ticket(id);
    ASSERT_EQ(this->admit(1).size(), 1u);
    for (int i = 0; i < 4; i++) EXPECT_TRUE(this->use_ticket(id, 4)) << i;
    EXPECT_FALSE(this->use_ticket(id, 4));
    EXPECT_EQ(this->status(id)->tickets_used, 4u);
    this->return_ticket(id);
    EXPECT_EQ(this->status(id)->tickets_used, 3u);
    EXPECT_TRUE(this->use_ticket(id, 4));
    EXPECT_FALSE(this->use_ticket(id, 4));
    for (int i = 0; i < 6; i++) this->return_ticket(id);
    EXPECT_EQ(this->status(id)->tickets_used, 0u);
    EXPECT_TRUE(this->use_ticket(id, 1));
    EXPECT_FALSE(this->use_ticket(id, 1));
}

// Of 50 concurrent calls on two store instances, exactly the maximum count a ticket.
TYPED_TEST(QueueStoreTest, ConcurrentTicketsNeverPassTheMaximum) {
    const std::string id = new_entry_id();
    this->join(id, Phase::sale);
    ASSERT_EQ(this->admit(1).size(), 1u);
    QueueStore& other = this->open_store();
    auto answers = this->template run_concurrently<Result<bool>>(50, [&](std::size_t i) {
        QueueStore& store = i % 2 == 0 ? *this->store_ : other;
        return store.use_ticket(id, 4);
    });
    std::size_t counted = 0;
    for (const Result<bool>& answer : answers) {
        ASSERT_TRUE(answer.ok());
        if (*answer) counted++;
    }
    EXPECT_EQ(counted, 4u);
    EXPECT_EQ(this->status(id)->tickets_used, 4u);
}

// The admission lease: the first asker holds it and renews it; another gets it only once it has
// run out; the operator's settings are unset until stored, then every asker reads them. Of many
// concurrent askers on two store instances exactly one gets a free lease.
TYPED_TEST(QueueStoreTest, TheAdmissionLeaseHasOneHolderAtATimeAndCarriesTheSettings) {
    QueueStore& other = this->open_store();
    auto lead = [&](QueueStore& store, const std::string& owner, std::int64_t now_us) {
        Result<AdmissionLease> lease =
            this->run([&] { return store.lead(owner, now_us, now_us + 2'000'000); });
        EXPECT_TRUE(lease.ok());
        return lease.ok() ? *lease : AdmissionLease{};
    };
    const AdmissionLease first = lead(*this->store_, "a/1", t0_us);
    EXPECT_TRUE(first.leading);
    EXPECT_FALSE(first.settings.paused.has_value());
    EXPECT_FALSE(first.settings.per_second.has_value());
    EXPECT_FALSE(lead(other, "b/2", t0_us + 1'000'000).leading);
    EXPECT_TRUE(lead(*this->store_, "a/1", t0_us + 1'500'000).leading);  // Renewed to 3.5 s.
    EXPECT_FALSE(lead(other, "b/2", t0_us + 3'000'000).leading);
    EXPECT_TRUE(lead(other, "b/2", t0_us + 3'500'000).leading);  // Run out: taken over.
    EXPECT_FALSE(lead(*this->store_, "a/1", t0_us + 3'600'000).leading);
    ASSERT_TRUE(this->run([&] { return this->store_->set_settings({true, 250}); }).ok());
    const AdmissionLease read = lead(*this->store_, "a/1", t0_us + 3'700'000);
    EXPECT_EQ(read.settings.paused, std::optional<bool>(true));
    EXPECT_EQ(read.settings.per_second, std::optional<std::uint32_t>(250));
    // A change of one setting keeps the other.
    ASSERT_TRUE(this->run([&] { return other.set_settings({std::nullopt, 7}); }).ok());
    const AdmissionLease rate_only = lead(other, "b/2", t0_us + 3'800'000);
    EXPECT_EQ(rate_only.settings.paused, std::optional<bool>(true));
    EXPECT_EQ(rate_only.settings.per_second, std::optional<std::uint32_t>(7));
    ASSERT_TRUE(this->run([&] { return other.set_settings({false, std::nullopt}); }).ok());
    const AdmissionLease paused_only = lead(other, "b/2", t0_us + 3'900'000);
    EXPECT_EQ(paused_only.settings.paused, std::optional<bool>(false));
    EXPECT_EQ(paused_only.settings.per_second, std::optional<std::uint32_t>(7));
    // A rate an earlier release allowed above today's most is read as the most.
    ASSERT_TRUE(this->run([&] { return other.set_settings({std::nullopt, 1'000'000}); }).ok());
    const AdmissionLease above = lead(other, "b/2", t0_us + 3'950'000);
    EXPECT_EQ(above.settings.per_second,
              std::optional<std::uint32_t>(limits::admit_per_second_max));
    ASSERT_TRUE(this->run([&] { return other.set_settings({std::nullopt, 7}); }).ok());

    const std::int64_t later_us = t0_us + 100'000'000;  // Every lease has run out.
    std::vector<std::string> owners;  // They outlive the lazy calls that read them.
    for (int i = 0; i < 40; i++) owners.push_back("c/" + std::to_string(i));
    auto answers =
        this->template run_concurrently<Result<AdmissionLease>>(owners.size(), [&](std::size_t i) {
            QueueStore& store = i % 2 == 0 ? *this->store_ : other;
            return store.lead(owners[i], later_us, later_us + 2'000'000);
        });
    std::size_t leading = 0;
    for (const Result<AdmissionLease>& answer : answers) {
        ASSERT_TRUE(answer.ok());
        leading += answer->leading;
    }
    EXPECT_EQ(leading, 1u);
}

// An id the store does not know: no status, no ticket, nothing to give back.
TYPED_TEST(QueueStoreTest, KnowsNothingOfAnUnknownId) {
    const std::string id = new_entry_id();
    EXPECT_FALSE(this->status(id).has_value());
    EXPECT_FALSE(this->status("not an id").has_value());
    EXPECT_FALSE(this->use_ticket(id, 4));
    this->return_ticket(id);
    const QueueCounts counted = this->counts();
    EXPECT_EQ(counted.waiting, 0u);
    EXPECT_EQ(counted.admitted, 0u);
    EXPECT_EQ(counted.joined, 0u);
}

// An admitted entry is kept for keep_s seconds, then known no more (its tickets with it);
// the counts keep its join and its admission.
TYPED_TEST(QueueStoreTest, ForgetsAnAdmittedEntryAfterItsKeepTime) {
    const std::string id = new_entry_id();
    const std::string waiting = new_entry_id();
    this->join(id, Phase::sale);
    this->join(waiting, Phase::sale);
    ASSERT_EQ(this->admit(1, 1).size(), 1u);
    EXPECT_TRUE(this->use_ticket(id, 4));
    std::this_thread::sleep_for(std::chrono::milliseconds(2'100));
    EXPECT_FALSE(this->status(id).has_value());
    EXPECT_FALSE(this->use_ticket(id, 4));
    ASSERT_TRUE(this->status(waiting).has_value());  // Waiting entries never expire.
    EXPECT_EQ(this->admit(1).size(), 1u);            // PostgreSQL deletes the row here.
    EXPECT_FALSE(this->status(id).has_value());
    const QueueCounts counted = this->counts();
    EXPECT_EQ(counted.joined, 2u);
    EXPECT_EQ(counted.admitted, 2u);
    EXPECT_EQ(counted.waiting, 0u);
}

// A fresh store instance on the same data (a server restart) finds every entry at its place,
// the admissions and the sale sequence where they were; with Redis also after redis-server
// itself restarted (its append-only file), the first store carrying on once reconnected.
TYPED_TEST(QueueStoreTest, AFreshStoreFindsEveryEntryAtItsPlace) {
    std::vector<Place> places = this->join_many(
        30, Phase::prequeue, [](std::size_t i) { return std::uint64_t{i} * 104'729 % 9973; });
    const std::vector<Place> sale = this->join_many(10, Phase::sale);
    places.insert(places.end(), sale.begin(), sale.end());
    std::vector<std::string> order = in_queue_order(places);
    ASSERT_EQ(ids_of(this->admit(5)), std::vector<std::string>(order.begin(), order.begin() + 5));
    order.erase(order.begin(), order.begin() + 5);

    QueueStore& fresh = this->open_store();
    this->expect_places(order, &fresh);
    const QueueCounts before = this->counts(&fresh);
    EXPECT_EQ(before.waiting, 35u);
    EXPECT_EQ(before.admitted, 5u);
    EXPECT_EQ(before.joined, 40u);

    if (TypeParam::restartable) {
        this->backend_.restart();
        // Both stores reconnect by themselves and, the script forgotten, call it by EVAL.
        ASSERT_TRUE(this->wait_available(*this->store_));
        ASSERT_TRUE(this->wait_available(fresh));
        this->expect_places(order);
        EXPECT_EQ(this->counts().joined, 40u);
    }
    const std::uint64_t next = this->join(new_entry_id(), Phase::sale);
    EXPECT_EQ(next, arrival_key(11));
    const std::vector<AdmittedEntry> admitted = this->admit(2, keep_s, &fresh);
    ASSERT_EQ(admitted.size(), 2u);
    EXPECT_EQ(admitted[0].entry_id, order[0]);
    EXPECT_EQ(admitted[0].admitted_seq, 6u);
}

// What Redis holds: scores equal to the keys exactly (read back as a score), the admitted
// entry's hash expiring, the waiting ones not.
class RedisQueueLayoutTest : public QueueStoreTest<RedisBackend> {};

TEST_F(RedisQueueLayoutTest, KeepsKeysExactAndExpiresOnlyAdmittedEntries) {
    const std::string first = new_entry_id();
    const std::string second = new_entry_id();
    join(first, Phase::prequeue, raffle_key(key_value_max));
    join(second, Phase::sale);
    const testing::RedisServer& server = backend_.server;
    const std::string score = server.command("ZSCORE q:waiting " + second);
    const std::size_t digits = score.find("\r\n") + 2;
    EXPECT_EQ(key_from_score_text(score.substr(digits, score.size() - digits - 2)), arrival_key(1));
    EXPECT_EQ(server.command("ZSCORE q:waiting " + first), "$16\r\n4503599627370495\r\n");
    EXPECT_EQ(server.command("TTL q:e:" + first), ":-1\r\n");
    ASSERT_EQ(admit(1).size(), 1u);
    const std::string ttl = server.command("TTL q:e:" + first);
    EXPECT_TRUE(ttl == ":600\r\n" || ttl == ":599\r\n") << ttl;
    EXPECT_EQ(server.command("TTL q:e:" + second), ":-1\r\n");
    EXPECT_EQ(server.command("GET q:seq"), "$1\r\n1\r\n");
}

// The queue's connection labels its metric series, so it shares a registry with the session
// store's connection without mixing their series.
TEST_F(RedisQueueLayoutTest, LabelsItsConnectionsMetrics) {
    auto session_store =
        sessions::make_redis_store(io_.get_executor(), backend_.server.unix_url(), registry_);
    ASSERT_TRUE(run([&] { return session_store->start(); }).ok());
    std::string text = registry_.render_prometheus();
    EXPECT_NE(text.find("tigerfans_redis_connected 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("tigerfans_redis_connected{connection=\"queue\"} 1\n"), std::string::npos)
        << text;
    run([&] { return stop_session_store(*session_store); });
    text = registry_.render_prometheus();
    EXPECT_NE(text.find("tigerfans_redis_connected 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("tigerfans_redis_connected{connection=\"queue\"} 1\n"), std::string::npos)
        << text;
}

}  // namespace
}  // namespace tigerfans::queue
