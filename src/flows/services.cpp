// Registration of the flows' component timings and counts.
#include "tigerfans/flows/services.hpp"

namespace tigerfans::flows {

namespace {
metrics::Histogram& component(metrics::Registry& registry, std::string_view name) {
    return registry.histogram(
        "tigerfans_component_seconds", "Latency of each store call made by the flows",
        metrics::latency_buckets_seconds(), "component=\"" + std::string(name) + "\"");
}
}  // namespace

Timings::Timings(metrics::Registry& registry)
    : accounting_hold(component(registry, "accounting.hold")),
      accounting_commit(component(registry, "accounting.commit")),
      accounting_book_late(component(registry, "accounting.book_late")),
      accounting_cancel(component(registry, "accounting.cancel")),
      accounting_inventory(component(registry, "accounting.inventory")),
      session_save(component(registry, "paymentsession.save")),
      session_find(component(registry, "paymentsession.get")),
      session_gate(component(registry, "paymentsession.gate")),
      session_remove(component(registry, "paymentsession.remove")),
      order_insert(component(registry, "db.add_order")),
      order_find(component(registry, "db.get_order")),
      checkouts(registry.counter("tigerfans_checkouts_total", "Checkouts that held a ticket")),
      sales(registry.counter("tigerfans_sales_total",
                             "Webhook deliveries that stored their order as paid with a ticket")) {}

}  // namespace tigerfans::flows
