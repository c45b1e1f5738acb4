// The JSON API (docs/ARCHITECTURE.md §3) on top of the flows: checkout, webhook, order status,
// inventory, pending sessions and the isolated accounting calls used by benchmarks.
#pragma once

#include <functional>

#include "tigerfans/flows/checkout.hpp"
#include "tigerfans/flows/services.hpp"
#include "tigerfans/flows/waiting_room.hpp"
#include "tigerfans/flows/webhook.hpp"
#include "tigerfans/http/router.hpp"

namespace tigerfans::flows {

// Says whether a request comes from an operator (an admin login, for instance).
using OperatorCheck = std::function<bool(const http::Request&)>;

// The API's route table: the public API, /api/pending for operators only, and the isolated
// accounting calls when the configuration turns them on (BENCH_ENDPOINTS). With a waiting
// room, checkout asks for its admission tokens (flows/waiting_room.hpp).
http::Routes api_routes(Services& services, OperatorCheck is_operator,
                        WaitingRoom* waiting_room = nullptr);

// Shared with the admin pages.
std::string inventory_json(const accounting::Inventory& inventory);
std::string order_json(const orders::Order& order);

// The hot answers' bodies, written by hand (http/json_writer.hpp); exposed for the tests that
// hold them to the bytes nlohmann wrote.
std::string checkout_answer_json(const CheckoutAccepted& accepted);
std::string webhook_answer_json(const WebhookSettled& settled);

}  // namespace tigerfans::flows
