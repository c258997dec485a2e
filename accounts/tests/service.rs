//! The sign-in service on a real SQLite store with real Argon2id: passwords, lockout,
//! sessions, inactive people and sign-in codes.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::Ordering;

use common::*;
use yizhan_accounts::limits::*;
use yizhan_accounts::{AccountError, Method, PasswordError, SignInError};
use yizhan_core::{Credential, Role};

#[tokio::test]
async fn password_sign_in_opens_a_session_for_the_right_password_only() {
    let n = node();
    let person = n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    assert_eq!(person.phone_masked, "138****5678");

    let s = n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
    assert_eq!(s.person_id, "li-01");
    assert_eq!(s.method, Method::Password);
    assert_eq!(s.expires_ms, T0 + SESSION_TTL_MS_DEFAULT);
    assert!(!format!("{s:?}").contains(&s.token), "Debug never shows the token");
    let (_, actor) = n.accounts.session(&s.token).await.unwrap().unwrap();
    assert_eq!((actor.person_id.as_str(), actor.role), ("li-01", Role::Officer));

    // Surrounding spaces in the id are forgiven; the password is taken as typed.
    assert!(n.accounts.sign_in_password(" li-01 ", PASSWORD).await.is_ok());
    assert!(matches!(
        n.accounts.sign_in_password("li-01", &format!("{PASSWORD} ")).await,
        Err(SignInError::BadPassword)
    ));
    assert!(matches!(n.accounts.sign_in_password("li-01", "").await, Err(SignInError::BadPassword)));

    // The credential holds an Argon2id hash with the explicit parameters, never the password.
    let cred = n
        .store
        .call(|db| Ok(Credential::from_doc(&db.load_doc(&Credential::doc_id("li-01"))?.unwrap()).unwrap()))
        .await
        .unwrap();
    assert!(cred.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", cred.password_hash);
    assert!(!cred.phone_sealed.contains(PHONE) && cred.phone_sealed.starts_with("v1:"));
    assert_eq!(cred.region_code, "510131001001");

    // An unknown token, a malformed one and a signed-out one name no session.
    assert!(n.accounts.session("x".repeat(43).as_str()).await.unwrap().is_none());
    assert!(n.accounts.session("not a token").await.unwrap().is_none());
    assert!(n.accounts.sign_out(&s.token).await.unwrap());
    assert!(n.accounts.session(&s.token).await.unwrap().is_none());
    assert!(!n.accounts.sign_out(&s.token).await.unwrap());
}

#[tokio::test]
async fn an_unknown_id_costs_an_argon2_check_and_reads_like_a_wrong_password() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let before = n.accounts.password_checks();
    let unknown = n.accounts.sign_in_password("nobody", PASSWORD).await.unwrap_err();
    let wrong = n.accounts.sign_in_password("li-01", "wrong-password").await.unwrap_err();
    assert_eq!(n.accounts.password_checks(), before + 2, "both paths verify a hash");
    assert!(matches!(unknown, SignInError::BadPassword));
    assert!(matches!(wrong, SignInError::BadPassword));
    assert_eq!(unknown.message_zh(), wrong.message_zh());

    // A person without a password (codes or passkeys only) also costs a check and fails.
    let mut p = officer("wang-02");
    p.phone = String::new();
    n.accounts.create_person(&p, None).await.unwrap();
    assert!(matches!(n.accounts.sign_in_password("wang-02", "").await, Err(SignInError::BadPassword)));
    assert_eq!(n.accounts.password_checks(), before + 3);
}

#[tokio::test]
async fn five_failures_lock_the_id_for_fifteen_minutes_even_against_the_right_password() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    for i in 1..FAILURES_BEFORE_LOCKOUT {
        let e = n.accounts.sign_in_password("li-01", "wrong-password").await.unwrap_err();
        assert!(matches!(e, SignInError::BadPassword), "failure {i}: {e}");
        n.clock.advance_ms(1000);
    }
    let e = n.accounts.sign_in_password("li-01", "wrong-password").await.unwrap_err();
    let SignInError::Locked { until_ms } = e else { panic!("the fifth failure locks: {e}") };
    assert_eq!(until_ms, n.clock.now() + LOCKOUT_MS);

    // Locked: the right password is refused, and without an Argon2 check.
    let checks = n.accounts.password_checks();
    assert!(matches!(n.accounts.sign_in_password("li-01", PASSWORD).await, Err(SignInError::Locked { .. })));
    assert_eq!(n.accounts.password_checks(), checks, "a locked id is refused before hashing");
    assert!(e.message_zh().contains("锁定"));

    // Still locked one second before the end; open after it.
    n.clock.advance_ms(LOCKOUT_MS - 1000);
    assert!(matches!(n.accounts.sign_in_password("li-01", PASSWORD).await, Err(SignInError::Locked { .. })));
    n.clock.advance_ms(1000);
    n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    // Success cleared the count: four more failures do not lock.
    for _ in 1..FAILURES_BEFORE_LOCKOUT {
        assert!(matches!(
            n.accounts.sign_in_password("li-01", "wrong-password").await,
            Err(SignInError::BadPassword)
        ));
    }
    n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn failures_further_apart_than_the_window_do_not_lock_and_unknown_ids_lock_too() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    for _ in 0..FAILURES_BEFORE_LOCKOUT * 2 {
        assert!(matches!(
            n.accounts.sign_in_password("li-01", "wrong-password").await,
            Err(SignInError::BadPassword)
        ));
        // Each failure comes after the window of the one before: the count starts again.
        n.clock.advance_ms(FAILURE_WINDOW_MS + 1);
    }
    n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    // An id that does not exist locks exactly like one that does: lockouts reveal nothing.
    for _ in 1..FAILURES_BEFORE_LOCKOUT {
        assert!(matches!(
            n.accounts.sign_in_password("ghost", "x1234567").await,
            Err(SignInError::BadPassword)
        ));
    }
    assert!(matches!(
        n.accounts.sign_in_password("ghost", "x1234567").await,
        Err(SignInError::Locked { .. })
    ));
}

#[tokio::test]
async fn sessions_expire_when_idle_slide_with_use_and_end_at_the_absolute_limit() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let s = n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    // Idle for the whole lifetime: gone.
    n.clock.advance_ms(SESSION_TTL_MS_DEFAULT - 1);
    assert!(n.accounts.session(&s.token).await.unwrap().is_some(), "1 ms before expiry");
    // That use slid the expiry forward by a full lifetime.
    n.clock.advance_ms(SESSION_TTL_MS_DEFAULT - 1);
    let (slid, _) = n.accounts.session(&s.token).await.unwrap().unwrap();
    assert_eq!(slid.expires_ms, n.clock.now() + SESSION_TTL_MS_DEFAULT);
    n.clock.advance_ms(SESSION_TTL_MS_DEFAULT);
    assert!(n.accounts.session(&s.token).await.unwrap().is_none(), "expired after 12 h idle");
    assert!(n.accounts.session(&s.token).await.unwrap().is_none(), "and stays expired");

    // Used every 6 hours, a session still ends at the absolute limit.
    let s = n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
    let start = n.clock.now();
    let mut alive_until = start;
    for _ in 0..40 {
        n.clock.advance_ms(6 * 3600 * 1000);
        match n.accounts.session(&s.token).await.unwrap() {
            Some(_) => alive_until = n.clock.now(),
            None => break,
        }
    }
    assert!(alive_until - start >= SESSION_MAX_MS_DEFAULT - 6 * 3600 * 1000, "lived {}", alive_until - start);
    assert!(alive_until - start <= SESSION_MAX_MS_DEFAULT);
    assert!(n.accounts.session(&s.token).await.unwrap().is_none());
}

#[tokio::test]
async fn at_most_twenty_sessions_per_person_the_oldest_go() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let mut tokens = Vec::new();
    for _ in 0..SESSIONS_PER_PERSON_MAX + 2 {
        tokens.push(n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap().token);
        n.clock.advance_ms(1);
    }
    assert!(n.accounts.session(&tokens[0]).await.unwrap().is_none());
    assert!(n.accounts.session(&tokens[1]).await.unwrap().is_none());
    assert!(n.accounts.session(&tokens[2]).await.unwrap().is_some());
    assert!(n.accounts.session(tokens.last().unwrap()).await.unwrap().is_some());
    assert_eq!(n.accounts.sign_out_everywhere("li-01").await.unwrap(), SESSIONS_PER_PERSON_MAX as usize);
    assert!(n.accounts.session(tokens.last().unwrap()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_inactive_person_cannot_sign_in_and_loses_her_sessions() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let s = n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
    deactivate(&n.store, "li-01").await;
    assert!(n.accounts.session(&s.token).await.unwrap().is_none());
    let e = n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap_err();
    assert!(matches!(e, SignInError::Inactive), "{e}");
    assert_eq!(e.message_zh(), "该账号已停用，请联系管理员");
    // A wrong password for an inactive person reads like any wrong password.
    assert!(matches!(
        n.accounts.sign_in_password("li-01", "wrong-password").await,
        Err(SignInError::BadPassword)
    ));
    // No code either.
    assert!(matches!(n.accounts.send_code("li-01").await, Err(SignInError::Inactive)));
    assert_eq!(n.sms.count(), 0);
}

#[tokio::test]
async fn passwords_are_set_and_changed_with_the_length_rules() {
    let n = node();
    let mut p = officer("li-01");
    p.phone = String::new();
    n.accounts.create_person(&p, None).await.unwrap();
    assert!(matches!(
        n.accounts.set_password("li-01", "short").await,
        Err(AccountError::Password(PasswordError::TooShort))
    ));
    assert!(matches!(
        n.accounts.set_password("li-01", &"长".repeat(129)).await,
        Err(AccountError::Password(PasswordError::TooLong))
    ));
    assert!(matches!(n.accounts.set_password("nobody", PASSWORD).await, Err(AccountError::UnknownPerson(_))));
    n.accounts.set_password("li-01", PASSWORD).await.unwrap();
    n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();

    // Changing needs the current password; a wrong one counts towards the lockout.
    assert!(matches!(
        n.accounts.change_password("li-01", "not-the-password", "new-password-1").await,
        Err(AccountError::WrongPassword)
    ));
    n.accounts.change_password("li-01", PASSWORD, "new-password-1").await.unwrap();
    assert!(matches!(n.accounts.sign_in_password("li-01", PASSWORD).await, Err(SignInError::BadPassword)));
    n.accounts.sign_in_password("li-01", "new-password-1").await.unwrap();
    let summary = n.accounts.credential_summary("li-01").await.unwrap();
    assert!(summary.has_password && !summary.has_phone && summary.passkeys == 0);
}

#[tokio::test]
async fn set_password_creates_a_missing_credential_document() {
    let n = node();
    // A person whose credential document never arrived (created by another tool).
    let (person, _) = officer("li-01").build(T0).unwrap();
    let mut doc = person.to_doc().unwrap();
    n.store
        .call(move |db| db.create_doc(&yizhan_core::Person::doc_id("li-01"), "person", &mut doc))
        .await
        .unwrap();
    assert!(matches!(n.accounts.sign_in_password("li-01", PASSWORD).await, Err(SignInError::BadPassword)));
    n.accounts.set_password("li-01", PASSWORD).await.unwrap();
    n.accounts.sign_in_password("li-01", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn create_person_validates_and_refuses_duplicates() {
    let n = node();
    let mut bad = officer("li-01");
    bad.region_code = "510131".into(); // an officer belongs to a town or village
    assert!(matches!(n.accounts.create_person(&bad, Some(PASSWORD)).await, Err(AccountError::Person(_))));
    assert!(matches!(
        n.accounts.create_person(&officer("li-01"), Some("short")).await,
        Err(AccountError::Password(PasswordError::TooShort))
    ));
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let e = n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap_err();
    assert!(matches!(e, AccountError::Exists(_)), "{e}");
    assert_eq!(e.message_zh(), "该编号已存在");
    // The projection lists her.
    let listed: i64 = n
        .store
        .call(|db| {
            Ok(db.conn().query_row("SELECT COUNT(*) FROM people WHERE id = 'li-01'", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    assert_eq!(listed, 1);
}

// ---- sign-in codes ----

#[tokio::test]
async fn a_code_signs_in_once_and_is_stored_only_as_a_keyed_hash() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-01").await.unwrap();
    let (phone, text) = n.sms.sent.lock().unwrap()[0].clone();
    assert_eq!(phone, PHONE, "the sealed phone opened with the node's key");
    let code = n.sms.last_code();
    assert_eq!(text, format!("【四川乡村振兴科技在线】您的验证码是 {code}，5 分钟内有效。"));

    // The code is nowhere in clear in the sign-in tables, nor as an unkeyed hash.
    let rows: Vec<String> = n
        .store
        .call(|db| {
            let mut stmt = db.conn().prepare(
                "SELECT person_id || '|' || code_hash || '|' || sent_ms || '|' || expires_ms || '|' || attempts FROM signin_codes",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].contains(&code), "{}", rows[0]);
    assert!(!rows[0].contains(&blake3::hash(code.as_bytes()).to_hex().to_string()));
    assert!(!rows[0].contains(&blake3::hash(format!("li-01\n{code}").as_bytes()).to_hex().to_string()));

    let s = n.accounts.sign_in_code("li-01", &format!(" {code} ")).await.unwrap();
    assert_eq!(s.method, Method::Code);
    assert!(n.accounts.session(&s.token).await.unwrap().is_some());
    // Used: it cannot sign in again.
    assert!(matches!(n.accounts.sign_in_code("li-01", &code).await, Err(SignInError::NoCode)));
}

#[tokio::test]
async fn wrong_codes_count_and_the_fifth_ends_the_code() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-01").await.unwrap();
    let code = n.sms.last_code();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for i in 1..CODE_ATTEMPTS_MAX {
        let e = n.accounts.sign_in_code("li-01", wrong).await.unwrap_err();
        let SignInError::WrongCode { attempts_left } = e else { panic!("attempt {i}: {e}") };
        assert_eq!(attempts_left, CODE_ATTEMPTS_MAX - i);
    }
    assert!(matches!(n.accounts.sign_in_code("li-01", wrong).await, Err(SignInError::CodeAttempts)));
    // Even the right code is refused now: a new one must be requested.
    assert!(matches!(n.accounts.sign_in_code("li-01", &code).await, Err(SignInError::NoCode)));
    // A code for someone else does not open this account.
    n.accounts.create_person(&officer("li-02"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-02").await.unwrap();
    let other = n.sms.last_code();
    assert!(n.accounts.sign_in_code("li-01", &other).await.is_err());
}

#[tokio::test]
async fn codes_expire_after_five_minutes() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-01").await.unwrap();
    let code = n.sms.last_code();
    n.clock.advance_ms(CODE_TTL_MS);
    assert!(matches!(n.accounts.sign_in_code("li-01", &code).await, Err(SignInError::CodeExpired)));
    assert!(matches!(n.accounts.sign_in_code("li-01", &code).await, Err(SignInError::NoCode)));

    // One just before expiry works.
    n.accounts.send_code("li-01").await.unwrap();
    let code = n.sms.last_code();
    n.clock.advance_ms(CODE_TTL_MS - 1);
    n.accounts.sign_in_code("li-01", &code).await.unwrap();
}

#[tokio::test]
async fn a_new_code_waits_a_minute_and_at_most_ten_a_day() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-01").await.unwrap();
    let first = n.sms.last_code();
    n.clock.advance_ms(CODE_RESEND_INTERVAL_MS - 1000);
    let e = n.accounts.send_code("li-01").await.unwrap_err();
    let SignInError::CodeTooSoon { wait_ms } = e else { panic!("{e}") };
    assert_eq!(wait_ms, 1000);
    assert_eq!(n.sms.count(), 1);
    n.clock.advance_ms(1000);
    n.accounts.send_code("li-01").await.unwrap();
    let second = n.sms.last_code();
    // The new code replaces the old one (unless both happen to be the same six digits).
    if first != second {
        assert!(n.accounts.sign_in_code("li-01", &first).await.is_err());
    }
    for _ in 2..CODE_SENDS_PER_WINDOW_MAX {
        n.clock.advance_ms(CODE_RESEND_INTERVAL_MS);
        n.accounts.send_code("li-01").await.unwrap();
    }
    assert_eq!(n.sms.count() as i64, CODE_SENDS_PER_WINDOW_MAX);
    n.clock.advance_ms(CODE_RESEND_INTERVAL_MS);
    assert!(matches!(n.accounts.send_code("li-01").await, Err(SignInError::CodeLimit)));
    n.clock.advance_ms(CODE_SEND_WINDOW_MS);
    n.accounts.send_code("li-01").await.unwrap();
}

#[tokio::test]
async fn unknown_ids_and_people_without_a_phone_get_no_code_and_the_same_answer() {
    let n = node();
    let mut p = officer("wang-02");
    p.phone = String::new();
    n.accounts.create_person(&p, Some(PASSWORD)).await.unwrap();
    let a = n.accounts.send_code("nobody").await.unwrap_err();
    let b = n.accounts.send_code("wang-02").await.unwrap_err();
    assert!(matches!(a, SignInError::NoPhone) && matches!(b, SignInError::NoPhone));
    assert_eq!(n.sms.count(), 0);
    assert!(matches!(n.accounts.sign_in_code("nobody", "123456").await, Err(SignInError::NoCode)));

    // A phone set later is used.
    n.accounts.set_phone("wang-02", "139-0000-1111").await.unwrap();
    n.accounts.send_code("wang-02").await.unwrap();
    assert_eq!(n.sms.sent.lock().unwrap()[0].0, "13900001111");
}

#[tokio::test]
async fn a_failed_send_can_be_retried_at_once() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.sms.fail.store(true, Ordering::SeqCst);
    let e = n.accounts.send_code("li-01").await.unwrap_err();
    assert!(matches!(e, SignInError::Sms(_)), "{e}");
    assert_eq!(e.message_zh(), "短信发送失败，请稍后重试或使用密码登录");
    n.sms.fail.store(false, Ordering::SeqCst);
    n.accounts.send_code("li-01").await.unwrap();
    let code = n.sms.last_code();
    n.accounts.sign_in_code("li-01", &code).await.unwrap();
}

#[tokio::test]
async fn codes_survive_a_restart_of_the_service() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    n.accounts.send_code("li-01").await.unwrap();
    let code = n.sms.last_code();
    // A new service over the same store and key (the process restarted).
    let again = yizhan_accounts::Accounts::new(
        n.store.clone(),
        field_key(7),
        // The clock is the store's (`n.store` was opened with the test clock).
        yizhan_accounts::AccountsConfig::default(),
        n.sms.clone(),
        None,
    )
    .unwrap();
    again.sign_in_code("li-01", &code).await.unwrap();
}

#[tokio::test]
async fn a_storm_from_one_address_locks_that_address_only_and_all_addresses_together_stay_bounded() {
    let n = node();
    n.accounts.create_person(&officer("li-01"), Some(PASSWORD)).await.unwrap();
    let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
    let wrong = |from: &'static str| {
        let accounts = n.accounts.clone();
        async move { accounts.sign_in_password_from("li-01", "wrong-password", ip(from)).await.unwrap_err() }
    };
    // One host guesses: after five it is locked out, however long it keeps going.
    for i in 1..=FAILURES_BEFORE_LOCKOUT * 4 {
        let e = wrong("10.0.0.1").await;
        if i < FAILURES_BEFORE_LOCKOUT {
            assert!(matches!(e, SignInError::BadPassword), "failure {i}: {e}");
        } else {
            assert!(matches!(e, SignInError::Locked { .. }), "failure {i}: {e}");
        }
        n.clock.advance_ms(1000);
    }
    assert!(matches!(
        n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.0.0.1")).await,
        Err(SignInError::Locked { .. })
    ));
    // ... and so is its whole IPv6 /64 when it guesses over IPv6.
    for _ in 0..FAILURES_BEFORE_LOCKOUT {
        wrong("2001:db8:1:2::1").await;
    }
    assert!(matches!(
        n.accounts.sign_in_password_from("li-01", PASSWORD, ip("2001:db8:1:2::99")).await,
        Err(SignInError::Locked { .. })
    ));
    // She signs in from another address; the guessing host stays locked out.
    n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.0.0.2")).await.unwrap();
    assert!(matches!(
        n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.0.0.1")).await,
        Err(SignInError::Locked { .. })
    ));

    // Many hosts together: the fiftieth failure in a row locks the id for every address.
    const HOSTS: [&str; 10] = [
        "10.1.0.1",
        "10.1.0.2",
        "10.1.0.3",
        "10.1.0.4",
        "10.1.0.5",
        "10.1.0.6",
        "10.1.0.7",
        "10.1.0.8",
        "10.1.0.9",
        "10.1.0.10",
    ];
    assert_eq!(HOSTS.len() as i64 * (FAILURES_BEFORE_LOCKOUT - 1), 40);
    for host in HOSTS {
        for _ in 1..FAILURES_BEFORE_LOCKOUT {
            assert!(matches!(wrong(host).await, SignInError::BadPassword), "{host}");
            n.clock.advance_ms(1000);
        }
    }
    const MORE: [&str; 10] = [
        "10.2.0.1",
        "10.2.0.2",
        "10.2.0.3",
        "10.2.0.4",
        "10.2.0.5",
        "10.2.0.6",
        "10.2.0.7",
        "10.2.0.8",
        "10.2.0.9",
        "10.2.0.10",
    ];
    for (i, host) in MORE.iter().enumerate() {
        let e = wrong(host).await;
        if i + 1 < MORE.len() {
            assert!(matches!(e, SignInError::BadPassword), "{host}: {e}");
        } else {
            let SignInError::Locked { until_ms } = e else { panic!("the fiftieth failure locks: {e}") };
            assert_eq!(until_ms, n.clock.now() + LOCKOUT_MS);
        }
        n.clock.advance_ms(1000);
    }
    assert_eq!(ACCOUNT_FAILURES_BEFORE_LOCKOUT, 50);
    let checks = n.accounts.password_checks();
    assert!(matches!(
        n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.3.0.1")).await,
        Err(SignInError::Locked { .. })
    ));
    assert_eq!(n.accounts.password_checks(), checks, "refused before hashing");
    assert!(n.accounts.lockouts().await.unwrap().contains_key("li-01"));
    // The lockout ends by itself; an administrator's unlock clears every address too.
    n.clock.advance_ms(LOCKOUT_MS);
    n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.3.0.1")).await.unwrap();
    n.accounts.clear_lockout("li-01").await.unwrap();
    n.accounts.sign_in_password_from("li-01", PASSWORD, ip("10.0.0.1")).await.unwrap();
}
