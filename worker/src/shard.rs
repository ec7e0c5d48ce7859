//! A shard: a Durable Object that appends each batch to its SQLite queue before the write is
//! acknowledged. Delivery onwards (embedded store, upstream) is the next step of issue 4.

use worker::*;

/// One shard's durable queue.
#[durable_object]
pub struct Shard {
    sql: SqlStorage,
}

impl DurableObject for Shard {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        sql.exec(
            "CREATE TABLE IF NOT EXISTS batches (seq INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, body BLOB NOT NULL)",
            None,
        )
        .expect("create the batches table");
        Shard { sql }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/append") => {
                let body = req.bytes().await?;
                let now = Date::now().as_millis() as i64;
                self.sql
                    .exec("INSERT INTO batches (received_ms, body) VALUES (?, ?)", vec![now.into(), body.into()])?;
                Ok(Response::empty()?.with_status(204))
            }
            (Method::Get, "/stats") => {
                #[derive(serde::Deserialize)]
                struct Row {
                    n: i64,
                }
                let rows: Vec<Row> = self.sql.exec("SELECT count(*) AS n FROM batches", None)?.to_array()?;
                Response::ok(rows.first().map_or(0, |r| r.n).to_string())
            }
            _ => Response::error("not found", 404),
        }
    }
}
