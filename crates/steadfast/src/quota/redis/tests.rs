//! The Redis store's unit tests; the differential test of the Lua script against the model.

use super::*;

#[test]
fn urls_lose_their_passwords() {
    assert_eq!(
        redact_url("redis://:hunter2@10.0.0.1:6379/0"),
        "redis://:***@10.0.0.1:6379/0"
    );
    assert_eq!(
        redact_url("rediss://app:p%40ss:word@cache/2"),
        "rediss://app:***@cache/2"
    );
    assert_eq!(redact_url("redis://127.0.0.1"), "redis://127.0.0.1");
    assert_eq!(
        redact_url("redis+unix:///run/redis.sock?db=1&pass=hunter2"),
        "redis+unix:///run/redis.sock?***"
    );
    assert_eq!(redact_url("hunter2"), "<not a URL>");
}

#[tokio::test]
async fn debug_and_errors_never_show_the_password() {
    let store = RedisStore::builder("redis://user:hunter2@127.0.0.1:1/0")
        .build()
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("user:***@127.0.0.1:1"), "{shown}");
    let builder = RedisStore::builder("redis://:hunter2@127.0.0.1:1");
    assert!(!format!("{builder:?}").contains("hunter2"));
    let err = RedisStore::builder("redis://:hunter2@127.0.0.1:1")
        .command_timeout(Duration::from_millis(50))
        .connect()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = RedisStore::builder("nope://:hunter2@x")
        .build()
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn keys_share_one_hash_tag_under_the_versioned_prefix() {
    let scope = QuotaScope::new("openai", "prod {eu}", "gpt-4o").unwrap();
    let state = RedisStore::state_key(&scope);
    assert_eq!(state, "steadfast:v1:{openai/prod%20%7Beu%7D/gpt-4o}:gcra");
    let cooldown = RedisStore::cooldown_key(&scope);
    let tag = |k: &str| k[k.find('{').unwrap()..=k.find('}').unwrap()].to_owned();
    assert_eq!(tag(&state), tag(&cooldown));
}

/// Differential test: the Lua script and `gcra::decide` / `gcra::settle` take the same
/// decisions and reach the same state on the same sequence, on Redis's own clock (the
/// script returns the `now` it used; the model is run with it on the state read just
/// before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lua_script_decides_like_the_model() {
    use super::super::gcra::{self, Outcome, State};
    use redis::AsyncCommands;

    let Some(redis) = steadfast_fixtures::redis::shared() else {
        return;
    };
    let store = RedisStore::builder(redis.url.as_str())
        .admission_timeout(Duration::from_secs(5))
        .command_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let client = Client::open(redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let scope = QuotaScope::new("sim", &unique("diff"), "m").unwrap();
    let (state_key, cooldown_key) = (
        RedisStore::state_key(&scope),
        RedisStore::cooldown_key(&scope),
    );
    // 10 ms between requests, 3 at once; 1000 tokens a second, 2000 at once.
    let quota = Quota::builder()
        .requests_per_minute(6000)
        .burst(3)
        .tokens_per_minute(60_000)
        .token_burst(2000)
        .build()
        .unwrap();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut admitted, mut waited, mut settled, mut reserved) = (0, 0, 0, 0);
    for step in 0..240 {
        let read: (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(&state_key)
            .arg("r")
            .arg("t")
            .query_async(&mut conn)
            .await
            .unwrap();
        let cooldown: Option<u64> = conn.get(&cooldown_key).await.unwrap();
        let before = State {
            requests: read.0.unwrap_or(0),
            tokens: read.1.unwrap_or(0),
            cooldown_until: cooldown.unwrap_or(0),
        };
        if step == 120 {
            store.cooldown(&scope, Duration::from_millis(15)).await;
            continue;
        }
        if step % 7 == 3 {
            let delta = i64::try_from(next(400_000)).unwrap() - 200_000;
            let reply = store
                .inner
                .run(
                    &store.inner.scripts.settle,
                    std::slice::from_ref(&state_key),
                    &[delta],
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            let (new, now) = (reply[0] as u64, reply[1] as u64);
            assert_eq!(
                new,
                gcra::settle(before.tokens, now, delta),
                "settle at step {step}"
            );
            settled += 1;
            continue;
        }
        let cost = 1 + next(700);
        let limits = Limits::of(&quota, cost);
        // A quarter of the requests may be reserved up to a second ahead.
        let reserve = if next(4) == 0 { next(1_000_000) } else { 0 };
        let args = [
            micros(limits.requests.unwrap().increment),
            micros(limits.requests.unwrap().tolerance),
            micros(limits.tokens.unwrap().increment),
            micros(limits.tokens.unwrap().tolerance),
            micros(reserve),
        ];
        let reply = store
            .inner
            .run(
                &store.inner.scripts.admit,
                &[state_key.clone(), cooldown_key.clone()],
                &args,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        let now = reply[2] as u64;
        let model = gcra::decide_reserving(before, now, limits, reserve);
        let read: (Option<u64>, Option<u64>) = redis::cmd("HMGET")
            .arg(&state_key)
            .arg("r")
            .arg("t")
            .query_async(&mut conn)
            .await
            .unwrap();
        let after = (read.0.unwrap_or(0), read.1.unwrap_or(0));
        match model {
            Outcome::Admit(state) => {
                assert_eq!(
                    reply[0], 0,
                    "step {step}: the model admits, Lua says {reply:?}"
                );
                assert_eq!(after, (state.requests, state.tokens), "step {step}");
                admitted += 1;
            }
            Outcome::Reserve { state, micros } => {
                assert_eq!((reply[0], reply[1] as u64), (3, micros), "step {step}");
                assert_eq!(after, (state.requests, state.tokens), "step {step}");
                reserved += 1;
            }
            Outcome::Wait { micros, cooldown } => {
                let code = if cooldown { 2 } else { 1 };
                assert_eq!((reply[0], reply[1] as u64), (code, micros), "step {step}");
                assert_eq!(
                    after,
                    (before.requests, before.tokens),
                    "step {step}: refused"
                );
                waited += 1;
            }
            Outcome::TooLarge => unreachable!("costs stay below the allowance"),
        }
        if next(3) == 0 {
            tokio::time::sleep(Duration::from_millis(next(12))).await;
        }
    }
    assert!(
        admitted > 2 && waited > 10 && settled > 10 && reserved > 3,
        "{admitted} {waited} {settled} {reserved}"
    );
    assert!(!store.stats().degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_script_cache_costs_no_error() {
    let Some(redis) = steadfast_fixtures::redis::shared() else {
        return;
    };
    let store = RedisStore::builder(redis.url.as_str())
        .admission_timeout(Duration::from_secs(5))
        .connect()
        .await
        .unwrap();
    let scope = QuotaScope::new("sim", &unique("flush"), "m").unwrap();
    let quota = Quota::builder()
        .requests_per_minute(1)
        .burst(2)
        .build()
        .unwrap();
    assert_eq!(store.admit(&scope, &quota, 1).await, Decision::Admitted);
    assert_eq!(
        steadfast_fixtures::redis::command(&redis.url, &["SCRIPT", "FLUSH"]).unwrap(),
        "+OK"
    );
    assert_eq!(store.admit(&scope, &quota, 1).await, Decision::Admitted);
    assert!(matches!(
        store.admit(&scope, &quota, 1).await,
        Decision::Wait {
            reason: WaitReason::Quota,
            ..
        }
    ));
    assert_eq!(
        store.stats(),
        StoreStats::default(),
        "no failure, never degraded"
    );
}

fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{what}-{}-{nanos}", std::process::id())
}
