//! [`LeaseStore`] on PostgreSQL: the statements are `sql/leases.rs`'s, run in one transaction;
//! the wake-ups other replicas' commits send, heard on a `LISTEN` connection.

use super::*;

#[async_trait]
impl LeaseStore for PgStore {
    async fn hold_leases(
        &self,
        holder: &str,
        names: &[String],
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut held = Vec::with_capacity(names.len());
        for name in names {
            let got: Option<String> = sqlx::query_scalar(sql::leases::HOLD.postgres())
                .bind(name)
                .bind(holder)
                .bind(ts(now))
                .bind(ts(until))
                .fetch_optional(&mut *tx)
                .await?;
            held.extend(got);
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn release_lease(&self, holder: &str, name: &str) -> StoreResult<()> {
        sqlx::query(sql::leases::RELEASE.postgres())
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn publish_sources(
        &self,
        holder: &str,
        states: &[SourceState],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for s in states {
            sqlx::query(sql::leases::PUBLISH_SOURCE.postgres())
                .bind(&s.name)
                .bind(holder)
                .bind(&s.state)
                .bind(s.last_success.map(ts))
                .bind(&s.last_error)
                .bind(ts(at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn published_sources(
        &self,
        holder: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<SourceState>> {
        let rows = sqlx::query(sql::leases::PUBLISHED_SOURCES.postgres())
            .bind(holder)
            .bind(ts(since))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(sql::leases::source_state).collect()
    }

    async fn relay_wakes(
        &self,
        inbound: Arc<Notify>,
        deadlines: Arc<Notify>,
        stop: CancellationToken,
    ) {
        let mut listener = loop {
            match listen(&self.pool).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot listen for other replicas' commits; looking again in 2s (they are found by polling meanwhile).")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
                () = stop.cancelled() => return,
            }
        };
        loop {
            let heard = tokio::select! {
                heard = listener.recv() => heard,
                () = stop.cancelled() => return,
            };
            match heard {
                Ok(n) if n.channel() == INBOUND => inbound.notify_one(),
                Ok(_) => deadlines.notify_one(),
                Err(e) => {
                    // recv reconnects on its next call; what was announced meanwhile is lost,
                    // so both stages look now.
                    tracing::warn!(error = %e, "Lost the connection that hears other replicas' commits; reconnecting.");
                    inbound.notify_one();
                    deadlines.notify_one();
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = stop.cancelled() => return,
                    }
                }
            }
        }
    }
}
