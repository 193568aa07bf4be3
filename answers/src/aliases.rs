//! The alias graph, resolved once: for every alias address, the mailboxes and outside addresses
//! its mail finally reaches. [`crate::validate`] refuses what Postfix would fail on at delivery,
//! and the `mailboxes` step builds the sender map (`smtpd_sender_login_maps`) from it.
//!
//! How Postfix expands an alias, and so how this module does (Postfix virtual(5), "Virtual
//! aliasing is recursive; to terminate recursion for a specific address, alias that address to
//! itself"; the expansion is cleanup(8)'s `cleanup_map1n.c`):
//! - **Chains.** A target that is itself an alias is expanded again (`sales@ -> info@ ->
//!   alice@` reaches `alice@`). Aliases come before mailboxes: `virtual_alias_maps` is applied
//!   by cleanup(8) before the mailbox lookup.
//! - **Sub-addresses.** With `recipient_delimiter = +` (the `postfix` step sets it), a lookup of
//!   `alice+lists@example.test` that finds no such key tries `alice@example.test`; the mailbox
//!   lookup and Dovecot's LMTP user lookup strip the tag the same way (Dovecot's own
//!   `recipient_delimiter` default is `+`). So a target in one of our domains is resolved
//!   without its `+tag`: the tag starts at the first `+` not at the start of the local part
//!   (Postfix's `split_addr`). A tag on an outside address is part of that address.
//! - **Loops.** Aliases that reach themselves again through other aliases (`a -> b`, `b -> a`;
//!   or `a -> a+tag`, which looks `a` up again) make Postfix expand until
//!   `virtual_alias_recursion_limit` and then defer the mail with "4.6.0 Alias expansion error",
//!   even when the loop also lists a mailbox. Refused, naming every alias in the loop.
//! - **An alias listing itself** (`a -> a, b`, exactly, no tag) is virtual(5)'s way to stop the
//!   recursion and keep a copy: the address is delivered as itself. Here an address is either a
//!   mailbox or an alias, never both, so that copy is looked up as a mailbox that does not
//!   exist and bounces ("User unknown in virtual mailbox table"). Refused, with that reason;
//!   the fix is to list the mailbox that should keep the copy.
//! - **Targets in our own domains** must be a mailbox or an alias (after the tag is stripped),
//!   or mail to them bounces. An address in any other domain is an outside address: Postfix
//!   delivers it elsewhere (over SMTP, or locally for the host's own name), and it is no login.
//! - Every alias must finally reach at least one mailbox or outside address.
//!
//! Not modelled: `virtual_alias_recursion_limit` / `virtual_alias_expansion_limit` (1000 each
//! by default) for very deep or very wide alias trees, and the tag Postfix carries from an
//! alias address onto its results (`propagate_unmatched_extensions`): the outside addresses
//! listed here are as written.
use crate::model::Answers;
use crate::problem::Problem;
use crate::rules::{check_address, split_targets};
use crate::shape::show;
use std::collections::{HashMap, HashSet, VecDeque};

/// The sub-address delimiter: Postfix's `recipient_delimiter` as the `postfix` step sets it.
pub const RECIPIENT_DELIMITER: char = '+';

/// What mail to one alias finally reaches.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reach {
    /// Mailbox addresses (lowercase; they are the Dovecot logins), each once, in the order the
    /// expansion first meets them (targets in written order, depth first).
    pub mailboxes: Vec<String>,
    /// Addresses outside the configured domains, as written, each once.
    pub outside: Vec<String>,
}

/// Every alias (explicit and default, all domains), resolved to its final recipients.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AliasGraph {
    /// Alias address (lowercase) and its reach, in file order (see [`Domain::effective_aliases`]).
    aliases: Vec<(String, Reach)>,
    /// Position of each alias address in `aliases`.
    index: HashMap<String, usize>,
}

/// Resolve the aliases of `a`: the graph, or every problem with it (each naming its field).
pub fn resolve(a: &Answers) -> Result<AliasGraph, Vec<Problem>> {
    let (graph, problems) = AliasGraph::build(a);
    if problems.is_empty() {
        Ok(graph)
    } else {
        Err(problems)
    }
}

/// The address Postfix and Dovecot look up for a local `addr` once its tag is stripped:
/// `alice+lists@example.test` -> `alice@example.test` (lowercase). Unchanged without a tag.
pub fn untagged(addr: &str) -> String {
    let addr = addr.to_lowercase();
    match addr.rsplit_once('@') {
        Some((local, domain)) => match local.find(RECIPIENT_DELIMITER) {
            Some(i) if i > 0 => format!("{}@{domain}", &local[..i]),
            _ => addr,
        },
        None => addr,
    }
}

impl AliasGraph {
    /// The aliases in file order, each with what it reaches.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Reach)> {
        self.aliases.iter().map(|(a, r)| (a.as_str(), r))
    }

    /// What `alias` reaches; `None` when it is no alias.
    pub fn reach(&self, alias: &str) -> Option<&Reach> {
        let i = *self.index.get(&alias.to_lowercase())?;
        Some(&self.aliases[i].1)
    }

    /// The logins that may send as `alias`: the mailboxes it finally reaches. Intermediate
    /// aliases are no logins, and neither are outside addresses.
    pub fn logins(&self, alias: &str) -> &[String] {
        self.reach(alias).map_or(&[], |r| &r.mailboxes)
    }

    /// The graph (best effort when there are problems) and every problem, in file order.
    pub fn build(a: &Answers) -> (AliasGraph, Vec<Problem>) {
        Builder::new(a).run()
    }
}

/// Where one written target leads.
#[derive(Debug, Clone)]
enum Edge {
    Mailbox(String),
    Outside(String),
    /// Another alias (its index), as written.
    Alias(usize, String),
}

struct Node {
    from: String,
    /// Field path problems with this alias are reported under.
    field: String,
    edges: Vec<Edge>,
    /// A problem was reported at this alias already (or validate reports one: a target that is
    /// no address), so "reaches nothing" would only repeat it.
    reported: bool,
}

struct Builder {
    nodes: Vec<Node>,
    problems: Vec<(usize, Problem)>,
}

impl Builder {
    fn new(a: &Answers) -> Builder {
        let configured: HashSet<String> = a.domains.iter().map(|d| d.name.to_lowercase()).collect();
        let mailboxes: HashSet<String> = a
            .all_mailboxes()
            .map(|m| m.address.to_lowercase())
            .collect();
        // Aliases first: the index of each address (the first, if listed twice: validate
        // reports the duplicate, and postmap keeps the first).
        let mut raw = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (di, d) in a.domains.iter().enumerate() {
            for (ai, al) in a.aliases_of(d).into_iter().enumerate() {
                // A catch-all or non-address `from` is validate's to report; it is no key here.
                if al.from.starts_with('@') || !al.from.contains('@') {
                    continue;
                }
                let from = al.from.to_lowercase();
                if index.contains_key(&from) {
                    continue;
                }
                let field = if ai < d.aliases.len() {
                    format!("domains[{di}].aliases[{ai}].to")
                } else {
                    format!("domains[{di}].default_aliases")
                };
                index.insert(from.clone(), raw.len());
                raw.push((from, field, al.to));
            }
        }
        let mut b = Builder {
            nodes: Vec::new(),
            problems: Vec::new(),
        };
        for (i, (from, field, to)) in raw.into_iter().enumerate() {
            let mut node = Node {
                from,
                field,
                edges: Vec::new(),
                reported: false,
            };
            for t in split_targets(&to) {
                if t.is_empty() || check_address(t, false).is_err() {
                    node.reported = true; // validate names it
                    continue;
                }
                let lower = t.to_lowercase();
                let domain = lower.rsplit_once('@').map_or("", |(_, d)| d);
                if !configured.contains(domain) {
                    node.edges.push(Edge::Outside(t.to_string()));
                    continue;
                }
                let base = untagged(&lower);
                if let Some(&j) = index.get(&lower).or_else(|| index.get(&base)) {
                    if j == i && lower == node.from {
                        node.reported = true;
                        b.problems.push((
                            i,
                            Problem::new(
                                &node.field,
                                format!(
                                    "{} points at itself: Postfix then delivers a copy to {} as it is (virtual(5)), but that is an alias here, not a mailbox, so the copy bounces",
                                    show(t),
                                    node.from
                                ),
                                "remove it from the list; to keep a copy, list the mailbox that should get it",
                            ),
                        ));
                    } else {
                        node.edges.push(Edge::Alias(j, t.to_string()));
                    }
                } else if mailboxes.contains(&lower) || mailboxes.contains(&base) {
                    node.edges.push(Edge::Mailbox(base));
                } else {
                    node.reported = true;
                    let lookup = if base != lower {
                        format!(" (Postfix looks up {base} for it)")
                    } else {
                        String::new()
                    };
                    b.problems.push((
                        i,
                        Problem::new(
                            &node.field,
                            format!(
                                "{} is in a domain configured here but is no mailbox or alias{lookup}, so {} cannot deliver to it",
                                show(t),
                                node.from
                            ),
                            "add that mailbox or alias, or fix the address",
                        ),
                    ));
                }
            }
            b.nodes.push(node);
        }
        b
    }

    fn run(mut self) -> (AliasGraph, Vec<Problem>) {
        let sccs = self.sccs();
        let n = self.nodes.len();
        let mut reach: Vec<Option<Reach>> = vec![None; n];
        let mut in_loop = vec![false; n];
        // Tarjan yields each component after every component it reaches: one pass resolves all.
        for comp in &sccs {
            let members: HashSet<usize> = comp.iter().copied().collect();
            let looped = comp.len() > 1
                || self.nodes[comp[0]]
                    .edges
                    .iter()
                    .any(|e| matches!(e, Edge::Alias(j, _) if *j == comp[0]));
            let mut r = Reach::default();
            let mut sorted = comp.clone();
            sorted.sort_unstable();
            for &m in &sorted {
                for e in &self.nodes[m].edges {
                    match e {
                        Edge::Mailbox(mb) => push(&mut r.mailboxes, mb),
                        Edge::Outside(o) => push(&mut r.outside, o),
                        Edge::Alias(j, _) if members.contains(j) => {}
                        Edge::Alias(j, _) => {
                            let sub = reach[*j].as_ref().expect("reached components come first");
                            for mb in &sub.mailboxes {
                                push(&mut r.mailboxes, mb);
                            }
                            for o in &sub.outside {
                                push(&mut r.outside, o);
                            }
                        }
                    }
                }
            }
            for &m in comp {
                reach[m] = Some(r.clone());
                in_loop[m] = looped;
            }
            if looped {
                let first = sorted[0];
                let problem = self.loop_problem(first, &members, &sorted);
                self.problems.push((first, problem));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let r = reach[i].as_ref().expect("every node is in a component");
            if r.mailboxes.is_empty() && r.outside.is_empty() && !node.reported && !in_loop[i] {
                self.problems.push((
                    i,
                    Problem::new(
                        &node.field,
                        format!(
                            "{} reaches no mailbox and no outside address, so mail to it bounces",
                            node.from
                        ),
                        "point it at a mailbox, or at an alias that reaches one",
                    ),
                ));
            }
        }
        // File order; a stable sort keeps each alias's own problems in the order found.
        self.problems.sort_by_key(|(i, _)| *i);
        let aliases: Vec<(String, Reach)> = self
            .nodes
            .iter()
            .zip(reach)
            .map(|(node, r)| (node.from.clone(), r.unwrap_or_default()))
            .collect();
        let index = aliases
            .iter()
            .enumerate()
            .map(|(i, (from, _))| (from.clone(), i))
            .collect();
        let graph = AliasGraph { aliases, index };
        (graph, self.problems.into_iter().map(|(_, p)| p).collect())
    }

    /// The loop through `first` (the component member first in the file), shortest path back
    /// to it with targets in written order, and every alias of the component.
    fn loop_problem(&self, first: usize, members: &HashSet<usize>, sorted: &[usize]) -> Problem {
        // BFS from `first` within the component until an edge leads back to it.
        let mut prev: HashMap<usize, (usize, &str)> = HashMap::new();
        let mut queue = VecDeque::from([first]);
        let mut back: Option<(usize, &str)> = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for e in &self.nodes[u].edges {
                let Edge::Alias(j, written) = e else { continue };
                if *j == first {
                    back = Some((u, written));
                    break 'bfs;
                }
                if members.contains(j) && !prev.contains_key(j) {
                    prev.insert(*j, (u, written));
                    queue.push_back(*j);
                }
            }
        }
        let mut steps: Vec<&str> = Vec::new();
        if let Some((mut u, written)) = back {
            steps.push(written);
            while u != first {
                let (p, w) = prev[&u];
                steps.push(w);
                u = p;
            }
        }
        steps.push(&self.nodes[first].from);
        steps.reverse();
        let path = steps.join(" -> ");
        let names: Vec<&str> = sorted
            .iter()
            .map(|&m| self.nodes[m].from.as_str())
            .collect();
        let who = match names.as_slice() {
            [one] => format!("{one} points back at itself"),
            [a, b] => format!("{a} and {b} point at each other"),
            [rest @ .., last] => format!("{} and {last} point at each other", rest.join(", ")),
            [] => String::new(),
        };
        Problem::new(
            &self.nodes[first].field,
            format!("{who} in a loop ({path}): Postfix expands aliases again and again and then defers their mail (\"Alias expansion error\")"),
            "end the loop: point one of them at a mailbox or an outside address instead",
        )
    }

    /// Strongly connected components of the alias-to-alias edges (Tarjan's algorithm, without
    /// recursion so that a long chain cannot overflow the stack), each after the components it
    /// reaches.
    fn sccs(&self) -> Vec<Vec<usize>> {
        let n = self.nodes.len();
        let succ: Vec<Vec<usize>> = self
            .nodes
            .iter()
            .map(|node| {
                node.edges
                    .iter()
                    .filter_map(|e| match e {
                        Edge::Alias(j, _) => Some(*j),
                        _ => None,
                    })
                    .collect()
            })
            .collect();
        const UNSEEN: usize = usize::MAX;
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut out = Vec::new();
        let mut next = 0;
        for root in 0..n {
            if index[root] != UNSEEN {
                continue;
            }
            // (node, next successor to look at)
            let mut work = vec![(root, 0usize)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(top) = work.last_mut() {
                let v = top.0;
                if let Some(&w) = succ[v].get(top.1) {
                    top.1 += 1;
                    if index[w] == UNSEEN {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        work.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    out.push(comp);
                }
            }
        }
        out
    }
}

fn push(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Alias;

    const PW: &str = "correct horse battery";

    /// example.test with mailboxes alice@ and bob@ (no default aliases), plus `aliases`.
    fn answers(aliases: &[(&str, &str)]) -> Answers {
        let mut text = format!(
            "hostname: mail.example.test\nadmin_email: admin@example.test\ndomains:\n  - name: example.test\n    default_aliases: false\n    mailboxes:\n      - address: alice@example.test\n        password: \"{PW}\"\n      - address: bob@example.test\n        password: \"{PW}\"\n"
        );
        if !aliases.is_empty() {
            text.push_str("    aliases:\n");
            for (from, to) in aliases {
                text.push_str(&format!("      - {{from: {from}, to: \"{to}\"}}\n"));
            }
        }
        // Straight from YAML: `parse` would validate, and the point is what `resolve` says.
        serde_saphyr::from_str(&text).expect("test YAML")
    }

    fn problems(aliases: &[(&str, &str)]) -> Vec<String> {
        match resolve(&answers(aliases)) {
            Ok(_) => vec![],
            Err(ps) => ps.iter().map(Problem::to_string).collect(),
        }
    }

    fn graph(aliases: &[(&str, &str)]) -> AliasGraph {
        resolve(&answers(aliases)).unwrap_or_else(|ps| panic!("{ps:#?}"))
    }

    #[test]
    fn loop_of_two_is_refused_naming_both() {
        let p = problems(&[
            ("info@example.test", "sales@example.test"),
            (
                "sales@example.test",
                "info@example.test, alice@example.test",
            ),
        ]);
        assert_eq!(
            p,
            ["domains[0].aliases[0].to: info@example.test and sales@example.test point at each other in a loop (info@example.test -> sales@example.test -> info@example.test): Postfix expands aliases again and again and then defers their mail (\"Alias expansion error\") (end the loop: point one of them at a mailbox or an outside address instead)"],
            "a loop is refused even when it also reaches a mailbox"
        );
    }

    #[test]
    fn loop_of_three_is_refused_naming_all_in_file_order() {
        let p = problems(&[
            ("a@example.test", "alice@example.test"),
            ("c@example.test", "d@example.test"),
            ("d@example.test", "e@example.test"),
            ("e@example.test", "c@example.test"),
            ("x@example.test", "c@example.test, bob@example.test"),
        ]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with("domains[0].aliases[1].to: c@example.test, d@example.test and e@example.test point at each other in a loop (c@example.test -> d@example.test -> e@example.test -> c@example.test)"),
            "{p:#?}"
        );
        // The same loop written in another order names the same aliases, from the first listed.
        let q = problems(&[
            ("e@example.test", "c@example.test"),
            ("d@example.test", "e@example.test"),
            ("c@example.test", "d@example.test"),
        ]);
        assert!(
            q[0].starts_with("domains[0].aliases[0].to: e@example.test, d@example.test and c@example.test point at each other in a loop (e@example.test -> c@example.test -> d@example.test -> e@example.test)"),
            "{q:#?}"
        );
    }

    #[test]
    fn tagged_self_reference_is_a_loop() {
        let p = problems(&[(
            "info@example.test",
            "info+x@example.test, alice@example.test",
        )]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].contains("info@example.test points back at itself in a loop (info@example.test -> info+x@example.test)"),
            "{p:#?}"
        );
    }

    #[test]
    fn alias_listing_itself_is_refused_as_virtual5_self_copy() {
        // virtual(5): aliasing an address to itself stops the recursion and delivers to it as
        // it is. An alias here is never a mailbox, so that copy would bounce.
        let p = problems(&[("info@example.test", "info@example.test, alice@example.test")]);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(
            p[0].starts_with("domains[0].aliases[0].to: \"info@example.test\" points at itself: Postfix then delivers a copy to info@example.test as it is (virtual(5)), but that is an alias here, not a mailbox, so the copy bounces"),
            "{p:#?}"
        );
    }

    #[test]
    fn tag_on_a_real_mailbox_reaches_it() {
        let g = graph(&[
            ("lists@example.test", "alice+lists@example.test"),
            (
                "both@example.test",
                "Bob+x+y@example.test, alice@example.test",
            ),
        ]);
        assert_eq!(g.logins("lists@example.test"), ["alice@example.test"]);
        assert_eq!(
            g.logins("both@example.test"),
            ["bob@example.test", "alice@example.test"]
        );
        assert_eq!(untagged("alice+lists@example.test"), "alice@example.test");
        assert_eq!(untagged("+x@example.test"), "+x@example.test");
    }

    #[test]
    fn tag_on_an_address_that_does_not_exist_is_refused() {
        let p = problems(&[("lists@example.test", "carol+lists@example.test")]);
        assert_eq!(
            p,
            ["domains[0].aliases[0].to: \"carol+lists@example.test\" is in a domain configured here but is no mailbox or alias (Postfix looks up carol@example.test for it), so lists@example.test cannot deliver to it (add that mailbox or alias, or fix the address)"]
        );
    }

    #[test]
    fn chain_reaches_the_mailbox_at_its_end() {
        let g = graph(&[
            ("sales@example.test", "info@example.test"),
            ("info@example.test", "alice@example.test"),
        ]);
        assert_eq!(g.logins("sales@example.test"), ["alice@example.test"]);
        assert_eq!(g.logins("info@example.test"), ["alice@example.test"]);
        // Through a tag on an alias, too.
        let g = graph(&[
            (
                "sales@example.test",
                "info+sales@example.test, bob@example.test",
            ),
            ("info@example.test", "alice@example.test, far@example.org"),
        ]);
        assert_eq!(
            g.reach("sales@example.test"),
            Some(&Reach {
                mailboxes: vec!["alice@example.test".into(), "bob@example.test".into()],
                outside: vec!["far@example.org".into()],
            })
        );
        assert!(g.logins("alice@example.test").is_empty(), "no alias");
    }

    #[test]
    fn outside_address_is_a_final_recipient_but_no_login() {
        let g = graph(&[("fwd@example.test", "someone+tag@example.org")]);
        let r = g.reach("fwd@example.test").unwrap();
        assert_eq!(r.outside, ["someone+tag@example.org"]);
        assert!(g.logins("fwd@example.test").is_empty());
    }

    #[test]
    fn alias_reaching_nothing_is_refused() {
        let p = problems(&[
            ("sales@example.test", "info@example.test"),
            ("info@example.test", "info@example.test"),
        ]);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert!(
            p[0].starts_with("domains[0].aliases[0].to: sales@example.test reaches no mailbox and no outside address, so mail to it bounces"),
            "{p:#?}"
        );
        assert!(p[1].contains("points at itself"), "{p:#?}");
    }

    #[test]
    fn default_aliases_and_other_domains_resolve() {
        let mut a = answers(&[(
            "team@example.test",
            "postmaster@example.test, carol@other.test",
        )]);
        a.domains[0].default_aliases = true;
        let mut other = a.domains[0].clone();
        other.name = "other.test".into();
        other.mailboxes.truncate(1);
        other.mailboxes[0].address = "carol@other.test".into();
        other.aliases.clear();
        a.domains.push(other);
        let g = resolve(&a).unwrap_or_else(|ps| panic!("{ps:#?}"));
        assert_eq!(
            g.logins("team@example.test"),
            ["alice@example.test", "carol@other.test"]
        );
        assert_eq!(g.logins("abuse@other.test"), ["carol@other.test"]);
        let froms: Vec<&str> = g.iter().map(|(f, _)| f).collect();
        assert_eq!(
            froms,
            [
                "team@example.test",
                "postmaster@example.test",
                "abuse@example.test",
                "postmaster@other.test",
                "abuse@other.test"
            ]
        );
    }

    #[test]
    fn long_chain_does_not_overflow_the_stack() {
        let n = 30_000;
        let mut a = answers(&[]);
        a.domains[0].aliases = (0..n)
            .map(|i| Alias {
                from: format!("a{i}@example.test"),
                to: if i + 1 < n {
                    format!("a{}@example.test", i + 1)
                } else {
                    "alice@example.test".into()
                },
            })
            .collect();
        let g = resolve(&a).unwrap_or_else(|ps| panic!("{} problems", ps.len()));
        assert_eq!(g.logins("a0@example.test"), ["alice@example.test"]);
    }
}
