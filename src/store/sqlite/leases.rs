//! [`LeaseStore`] on SQLite: the statements are `sql/leases.rs`'s, run in one transaction. One
//! daemon writes a SQLite file, so there are no other replicas' commits to relay.

use super::*;

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn hold_leases(
        &self,
        holder: &str,
        names: &[String],
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let mut held = Vec::with_capacity(names.len());
        for name in names {
            let got: Option<String> = sqlx::query_scalar(sql::leases::HOLD.sqlite())
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
        sqlx::query(sql::leases::RELEASE.sqlite())
            .bind(name)
            .bind(holder)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    async fn publish_sources(
        &self,
        holder: &str,
        states: &[SourceState],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for s in states {
            sqlx::query(sql::leases::PUBLISH_SOURCE.sqlite())
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
        let rows = sqlx::query(sql::leases::PUBLISHED_SOURCES.sqlite())
            .bind(holder)
            .bind(ts(since))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(sql::leases::source_state).collect()
    }
}
