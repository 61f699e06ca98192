//! Every `compare` and `is_valid` against arbitrary input (the deterministic stand-in for a
//! fuzz target): random bytes, random version-like tokens and very long strings. Nothing may
//! panic, and `compare` must stay a total preorder: reflexive, antisymmetric and transitive.

use std::cmp::Ordering;

use vigil_version::{apk, compare, dpkg, is_valid, pep440, rpm, semver, Scheme};

use crate::rng::Rng;

/// Tokens from every scheme's grammar, plus characters none of them expect.
const TOKENS: [&str; 44] = [
    "0",
    "1",
    "2",
    "9",
    "10",
    "00",
    "007",
    ".",
    "-",
    "_",
    "+",
    "~",
    "^",
    ":",
    "!",
    "a",
    "b",
    "c",
    "z",
    "A",
    "V",
    "v",
    "r",
    "p",
    "rc",
    "alpha",
    "beta",
    "pre",
    "post",
    "dev",
    "git",
    "-r",
    "_p",
    "~1a",
    "1:",
    " ",
    "\t",
    "\0",
    "\u{e9}",
    "\u{a0}",
    "\u{1f}",
    "\u{10ffff}",
    "\u{fffd}",
    "\n",
];

/// One string each from random bytes, random tokens and a real-looking prefix plus tokens.
fn sample(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => String::from_utf8_lossy(&rng.bytes(24)).into_owned(),
        1 => rng.tokens(&TOKENS, 10),
        _ => {
            let base = *rng.pick(&["1.0", "1:2.36-9+deb12u4", "1.0.0-rc.1+b", "1!2.0a1.post2"]);
            base.to_string() + &rng.tokens(&TOKENS, 3)
        }
    }
}

/// The per-scheme module functions, called directly as well as through the dispatcher.
fn module_compare(scheme: Scheme) -> fn(&str, &str) -> Ordering {
    match scheme {
        Scheme::Dpkg => dpkg::compare,
        Scheme::Rpm => rpm::compare,
        Scheme::Apk => apk::compare,
        Scheme::Semver => semver::compare,
        Scheme::Pep440 => pep440::compare,
    }
}

fn module_is_valid(scheme: Scheme) -> fn(&str) -> bool {
    match scheme {
        Scheme::Dpkg => dpkg::is_valid,
        Scheme::Rpm => rpm::is_valid,
        Scheme::Apk => apk::is_valid,
        Scheme::Semver => semver::is_valid,
        Scheme::Pep440 => pep440::is_valid,
    }
}

#[test]
fn arbitrary_input_never_panics_and_orders_consistently() {
    let mut rng = Rng::new(0xf022);
    let strings: Vec<String> = (0..3000).map(|_| sample(&mut rng)).collect();
    for scheme in Scheme::ALL {
        let (cmp, valid) = (module_compare(scheme), module_is_valid(scheme));
        for (i, a) in strings.iter().enumerate() {
            assert_eq!(valid(a), is_valid(scheme, a), "{scheme:?} {a:?}");
            assert_eq!(cmp(a, a), Ordering::Equal, "{scheme:?} {a:?} vs itself");
            let b = &strings[(i * 7919 + 1) % strings.len()];
            let (ab, ba) = (cmp(a, b), cmp(b, a));
            assert_eq!(ab, ba.reverse(), "{scheme:?} {a:?} vs {b:?}");
            assert_eq!(ab, compare(scheme, a, b), "{scheme:?} dispatch");
            let _ = dpkg::upstream(a);
        }

        // Transitivity: after sorting, no later element may compare below an earlier one.
        let mut sorted: Vec<&str> = strings.iter().map(String::as_str).collect();
        sorted.sort_by(|a, b| cmp(a, b));
        for w in sorted.windows(2) {
            assert_ne!(cmp(w[0], w[1]), Ordering::Greater, "{scheme:?} sort");
        }
        for _ in 0..20_000 {
            let (i, j) = (rng.below(sorted.len()), rng.below(sorted.len()));
            let (i, j) = (i.min(j), i.max(j));
            assert_ne!(
                cmp(sorted[i], sorted[j]),
                Ordering::Greater,
                "{scheme:?}: {:?} sorts before {:?} yet compares greater",
                sorted[i],
                sorted[j]
            );
        }
        // Equal elements are interchangeable: their relation to a third is the same.
        for w in sorted.windows(2) {
            if cmp(w[0], w[1]).is_eq() {
                let c = *rng.pick(&sorted);
                assert_eq!(cmp(w[0], c), cmp(w[1], c), "{scheme:?}: {w:?} vs {c:?}");
            }
        }
    }
}

#[test]
fn huge_inputs_are_linear_and_safe() {
    let long_digits = "9".repeat(50_000);
    let long_digits_plus = format!("{long_digits}0");
    let many_dots = "1.".repeat(25_000) + "1";
    let many_tildes = "~".repeat(50_000);
    let many_letters = "a".repeat(50_000);
    let mixed = "1a~^_-.:+!".repeat(5_000);
    let inputs = [
        long_digits.as_str(),
        long_digits_plus.as_str(),
        many_dots.as_str(),
        many_tildes.as_str(),
        many_letters.as_str(),
        mixed.as_str(),
    ];
    for scheme in Scheme::ALL {
        for a in inputs {
            let _ = is_valid(scheme, a);
            for b in inputs {
                assert_eq!(
                    compare(scheme, a, b),
                    compare(scheme, b, a).reverse(),
                    "{scheme:?}"
                );
            }
        }
        // Numbers longer than any machine integer still compare by value.
        assert_eq!(
            compare(scheme, &long_digits, &long_digits_plus),
            Ordering::Less,
            "{scheme:?}"
        );
    }
    assert_eq!(
        compare(
            Scheme::Semver,
            &format!("{long_digits}.0.0"),
            &format!("{long_digits_plus}.0.0")
        ),
        Ordering::Less
    );
}
