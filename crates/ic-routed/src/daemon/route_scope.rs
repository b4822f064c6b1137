//! The IC-SB `Route` replica narrowed to the zone's [`RouteScope`]: a conditional monitor
//! that keeps the zone's own routes and those of the transit switches it is bound to, moved
//! with the scope before a round plans routes.

use super::*;

/// Whether the IC-SB `Route` replica keeps only the routes in the zone's scope
/// ([`RouteScope`]): always, except with VPC isolation's live inventory, which reads the
/// VPC claims other zones write on routes of every transit switch.
pub(super) fn scopes_routes(config: &Config) -> bool {
    config.isolation.is_none()
}

impl Daemon {
    /// With the IC-SB `Route` monitor narrowed to the zone's [`RouteScope`]: when the scope
    /// the replica shows now differs from the monitor's condition, asks the server for the
    /// routes of the new one and waits until the replica holds them, so that the engine
    /// never plans from part of the routes it can use (it would advertise again what the
    /// zone already has). Returns false if the server did not answer (within `transact_timeout`).
    pub(super) async fn follow_route_scope(&mut self) -> bool {
        let Some(in_force) = &self.route_scope else {
            return true;
        };
        let scope = {
            let nb_t = self.nb.cache.read();
            let icsb_t = self.ic_sb.cache.read();
            let name = nb_t
                .typed::<nb::NbGlobal>()
                .and_then(ic_routes::zone::zone_name)
                .unwrap_or_default();
            RouteScope::read(name, &*icsb_t).unwrap_or_default()
        };
        if scope == *in_force {
            return true;
        }
        // Bounded like a transaction: while IC-SB is unreachable the call would wait for
        // the next session, and the daemon must still answer pause and exit meanwhile. The
        // client keeps the new clauses, so the next round's try completes once it is back.
        let asked = tokio::time::timeout(
            self.config.transact_timeout,
            self.ic_sb.client.change_condition(
                Database::IcSb.schema_name(),
                icsb::Route::NAME,
                Some(scope.conditions()),
            ),
        )
        .await
        .unwrap_or_else(|_| {
            Err(ClientError::Timeout(
                "no answer to the IC-SB route condition change".into(),
            ))
        });
        match asked {
            Ok(()) => {
                info!(
                    zone = ?scope.zone(),
                    transit_switches = scope.transit_switches().count(),
                    rows = self.ic_sb.cache.read().total_rows(),
                    "IC-SB routes in the zone's scope in sync"
                );
                self.route_scope = Some(scope);
                true
            }
            Err(e) => {
                warn!(error = %e, "cannot narrow the IC-SB route monitor to the zone's scope");
                false
            }
        }
    }
}
