//! The `xenmem` binary as a user runs it: exit statuses, the one-line refusals of bad input
//! (file, line, field), and the shipped scenarios.
//!
//! Expected Xen answers come from Xen's recorded behaviour (the golden file and
//! shared/XEN-FACTS.md), never from this command's own output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn xenmem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xenmem")).args(args).output().expect("run xenmem")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scenario file with `body`, in a directory of this test run.
fn scenario(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xenmem-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const MACHINE: &str = "[machine]\narch = \"x86_64\"\nframes = 65536\n\n[[domain]]\nname = \"dom0\"\nid = 0\nprivileged = true\nmemory = 256\n\n[[domain]]\nname = \"guest\"\nid = 1\n";

/// Runs a bad scenario and checks the refusal: exit 2, nothing on stdout, one line on stderr
/// starting with `xenmem: FILE:LINE: ` and naming `field`.
fn refused(name: &str, body: &str, line: usize, field: &str, words: &str) {
    let p = scenario(name, body);
    let o = xenmem(&["run", p.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{name}: {err}");
    assert!(o.stdout.is_empty(), "{name}: stdout {:?}", text(&o.stdout));
    assert_eq!(err.lines().count(), 1, "{name}: one line, got {err:?}");
    let prefix = format!("xenmem: {}:{line}: ", p.display());
    assert!(err.starts_with(&prefix), "{name}: {err:?} should start with {prefix:?}");
    assert!(err.contains(&format!("field `{field}`")), "{name}: {err:?} should name field {field}");
    assert!(err.contains(words), "{name}: {err:?} should say {words:?}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{name}: {err}");
}

#[test]
fn missing_file() {
    let o = xenmem(&["run", "/nonexistent/xenmem/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), "xenmem: /nonexistent/xenmem/scenario.toml: no such file\n");
}

#[test]
fn malformed_toml() {
    let p = scenario("malformed.toml", &format!("{MACHINE}\n[[step]\nby = \"dom0\"\n"));
    let o = xenmem(&["run", p.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("xenmem: {}:15: not valid TOML", p.display())), "{err}");
}

#[test]
fn unknown_operation() {
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"add_to_physmapp\"\n");
    refused("unknown-op.toml", &body, 17, "op", "unknown operation \"add_to_physmapp\"");
}

#[test]
fn unknown_domains() {
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom1\"\nop = \"maximum_gpfn\"\n");
    refused("unknown-by.toml", &body, 16, "by", "unknown domain \"dom1\"");
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"maximum_gpfn\"\ndomid = \"gust\"\n");
    refused("unknown-domid.toml", &body, 18, "domid", "unknown domain \"gust\"");
    let body = format!("{MACHINE}\ntarget = \"nobody\"\n");
    refused("unknown-target.toml", &body, 15, "target", "unknown domain");
}

#[test]
fn values_out_of_range() {
    let body =
        format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"populate_physmap\"\norder = 64\ngfn = 0\n");
    refused("order.toml", &body, 18, "order", "out of range");
    let body = MACHINE.replace("id = 1\n", "id = 0x7ff0\n");
    refused("domid.toml", &body, 13, "id", "out of range");
    let body =
        format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"read\"\ngfn = 0\noffset = 4000\nlen = 200\n");
    refused("read.toml", &body, 20, "len", "past the 4 KiB page");
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"current_reservation\"\ndomid = -1\n");
    refused("negative.toml", &body, 18, "domid", "negative");
    let body = MACHINE.replace("frames = 65536", "frames = 0x100000000");
    refused("frames.toml", &body, 3, "frames", "out of range");
}

#[test]
fn wrong_types_and_unknown_fields() {
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"remove_from_physmap\"\ngfn = true\n");
    refused("type.toml", &body, 18, "gfn", "expected a number, found boolean");
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"maximum_gpfn\"\ngfns = [1]\n");
    refused("unknown-field.toml", &body, 18, "gfns", "unknown field");
    let body =
        format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"current_reservation\"\nexpect = \"-ENOPE\"\n");
    refused("errno.toml", &body, 18, "expect", "not an errno name");
    let body = format!(
        "{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"add_to_physmap_batch\"\nspace = \"gmfn_foreign\"\nforeign = \"guest\"\nidxs = [1, 2]\ngfns = [3, 4]\nexpect_errs = [\"ok\"]\n"
    );
    refused("errs.toml", &body, 22, "expect_errs", "1 statuses for 2 entries");
}

#[test]
fn unsupported_xen_versions() {
    let with = |v: &str| MACHINE.replace("frames = 65536\n", &format!("frames = 65536\nxen = {v}\n"));
    let listed = "unsupported Xen version \"4.19\": the model answers as \"4.17\" or \"4.20\"";
    refused("xen.toml", &with("\"4.19\""), 4, "xen", listed);
    refused("xen-float.toml", &with("4.2"), 4, "xen", "expected a string");
    // --xen alike, and it is the model's alone.
    let p = scenario("xen-ok.toml", MACHINE);
    for (args, words) in [
        (&["--xen", "4.19", "run", p.to_str().unwrap()][..], listed),
        (&["--xen", "5", "reservation", "0"], "unsupported Xen version \"5\""),
        (&["--backend", "privcmd", "--xen", "4.17", "reservation", "0"], "the running hypervisor's is used"),
    ] {
        let o = xenmem(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("xenmem: --xen: ") || err.starts_with("xenmem: --xen picks"), "{err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
}

#[test]
fn the_model_answers_as_the_release_chosen() {
    // Real Xen's answers to an acquire_resource size query of an unknown type, from the
    // golden files: 4.17 "succeeds" with (unsigned)-EOPNOTSUPP, 4.20 says -EINVAL.
    let step = |expect: &str| {
        format!(
            "{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"acquire_resource_size\"\ndomid = \"guest\"\ntype = 7\nexpect = {expect}\n"
        )
    };
    let old = scenario(
        "xen-4.17.toml",
        &step("4294967201").replace("frames = 65536\n", "frames = 65536\nxen = \"4.17\"\n"),
    );
    let o = xenmem(&["run", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("65536 frames of RAM, Xen 4.17;"), "{}", text(&o.stdout));
    // --xen overrides the file; no `xen` means the newest.
    let o = xenmem(&["--xen", "4.20", "run", old.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let new = scenario("xen-new.toml", &step("\"-EINVAL\""));
    let o = xenmem(&["--json", "run", new.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["machine"]["xen"], "4.20");
    // The dom0 subcommands name the release they talk to.
    let o = xenmem(&["--xen", "4.17", "--json", "domain", "info", "0"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((&v["xen"]["version"], &v["xen"]["extraversion"]), (&"4.17".into(), &".7".into()));
}

#[test]
fn missing_parts() {
    refused("no-machine.toml", "[[domain]]\nid = 0\n", 1, "machine", "needs a [machine]");
    let body = format!("{MACHINE}\n[[step]]\nop = \"maximum_gpfn\"\n");
    refused("no-by.toml", &body, 15, "by", "missing");
    let body = format!("{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"populate_physmap\"\n");
    refused("no-gfns.toml", &body, 15, "gfns", "missing");
}

#[test]
fn what_the_model_refuses_is_bad_input_too() {
    // 65536 frames of machine RAM cannot hold a 1 GiB domain.
    let body = MACHINE.replace("memory = 256", "memory = \"1G\"");
    refused("too-big.toml", &body, 5, "memory", "the model refuses it");
}

#[test]
fn a_mismatch_names_the_step_and_exits_1() {
    // Xen counts dom0's 256 pages, not 5.
    let body = format!(
        "{MACHINE}\n[[step]]\nby = \"dom0\"\nop = \"current_reservation\"\nexpect = 256\n\n[[step]]\nby = \"dom0\"\nop = \"current_reservation\"\nexpect = 5\n"
    );
    let p = scenario("mismatch.toml", &body);
    let o = xenmem(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!("xenmem: step 2 ({}:20, current_reservation): expected 5, got 256 pages\n", p.display())
    );
    let table = text(&o.stdout);
    assert!(table.contains("MISMATCH"), "{table}");
    assert!(table.contains("1 MISMATCHED"), "{table}");
}

#[test]
fn errno_names_and_batch_statuses_in_the_table() {
    // XEN-FACTS / golden: an unknown domain is -ESRCH; a foreign batch entry naming an
    // unpopulated GFN fails alone with -EINVAL while the call succeeds.
    let body = format!(
        "{MACHINE}memory = 4\n\n[[step]]\nby = \"dom0\"\nop = \"current_reservation\"\ndomid = 9\nexpect = \"-ESRCH\"\n\n\
         [[step]]\nby = \"dom0\"\nop = \"add_to_physmap_batch\"\nspace = \"gmfn_foreign\"\nforeign = \"guest\"\nidxs = [0, 0x5000]\ngfns = [0x1000, 0x1001]\nexpect = \"ok\"\nexpect_errs = [\"ok\", \"-EINVAL\"]\n"
    );
    let p = scenario("errnos.toml", &body);
    let o = xenmem(&["run", p.to_str().unwrap()]);
    let table = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{table}{}", text(&o.stderr));
    assert!(table.contains("current_reservation(domid=d9)"), "{table}");
    assert!(table.contains("-ESRCH"), "{table}");
    assert!(table.contains("ok; errs [ok, -EINVAL]"), "{table}");
    assert!(table.contains("foreign from guest (d1) gfn 0x0"), "{table}");
}

#[test]
fn demo_runs_and_json_says_the_same() {
    let o = xenmem(&["demo"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("every expectation met"), "{table}");
    for kind in ["RAM", "foreign from domU (d1)", "shared info (own)", "ioreq server 0"] {
        assert!(table.contains(kind), "the demo's physmaps show {kind}:\n{table}");
    }
    let o = xenmem(&["demo", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["mismatches"], 0);
    let steps = v["steps"].as_array().unwrap();
    assert!(table.contains(&format!("\n{} operations, ", steps.len())), "{table}");
    // An errno comes with its name and raw value.
    let esrch = steps.iter().find(|s| s["answer"]["error"]["name"] == "ESRCH").expect("an ESRCH step");
    assert_eq!(esrch["answer"]["error"]["errno"], 3);
    // The unlimited maximum reservation keeps its wide value.
    let max = steps.iter().find(|s| s["op"] == "maximum_reservation").unwrap();
    assert_eq!(max["answer"]["value"], 4_294_967_295u64);
    assert_eq!(max["answer"]["unlimited"], true);
    assert!(v["domains"][0]["physmap"].as_array().unwrap().iter().any(|r| r["kind"] == "foreign"));
}

#[test]
fn shipped_scenarios_meet_their_expectations() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let o = xenmem(&["run", p.to_str().unwrap()]);
            assert_eq!(o.status.code(), Some(0), "{}: {}", p.display(), text(&o.stderr));
            // Progress goes to a terminal only; here stderr is a pipe.
            assert!(o.stderr.is_empty(), "{}: {}", p.display(), text(&o.stderr));
            n += 1;
        }
    }
    assert!(n >= 4, "only {n} scenarios shipped");
}

#[test]
fn privcmd_off_a_dom0_says_so_in_one_line() {
    if std::path::Path::new("/dev/xen/privcmd").exists() {
        eprintln!("skipped: this machine has /dev/xen/privcmd");
        return;
    }
    for args in [
        &["--backend", "privcmd", "reservation", "0"][..],
        &["--backend", "privcmd", "read-frame", "1", "0x100"],
        &["--backend", "privcmd", "conformance"],
    ] {
        let o = xenmem(args);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("xenmem: not a Xen dom0: /dev/xen/privcmd does not exist"), "{err}");
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn dom0_subcommands_on_the_model() {
    // The model's default dom0 has 16 MiB and no limit; an unknown domain is -ESRCH.
    let o = xenmem(&["reservation", "self"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stdout),
        "current_reservation(DOMID_SELF) = 4096 pages (16384 KiB)\nmaximum_reservation(DOMID_SELF) = unlimited\nmaximum_gpfn(DOMID_SELF) = 0xfff\nxen_version = 4.20.5-pre\n"
    );
    let o = xenmem(&["reservation", "7"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).starts_with("current_reservation(d7) -> -ESRCH (errno 3)\n"));
    // XEN-FACTS: acquire_resource on the caller's own id is -EPERM.
    let o = xenmem(&["resource", "0"]);
    assert_eq!(text(&o.stdout), "acquire_resource_size(d0, grant_table, id 0) -> -EPERM (errno 1)\n");
    let o = xenmem(&["reservation", "d70000"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        text(&o.stderr),
        "xenmem: <arguments>: field `DOMAIN`: 70000 is out of range: domain ids are 16 bits\n"
    );
}

#[test]
fn frames_of_a_scenario_domain() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios/demo.toml");
    let d = demo.to_str().unwrap();
    // The demo's dom0 wrote "hello from dom0" into the domU's page at GFN 0.
    let o = xenmem(&["--scenario", d, "read-frame", "1", "0", "--len", "16"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stdout),
        "read d1 gfn 0x0:\n00000000  68 65 6c 6c 6f 20 66 72  6f 6d 20 64 6f 6d 30 00  |hello from dom0.|\n00000010\n"
    );
    // XEN-FACTS: the domU's grant table has 32 shared frames; a frame dump is 4096 bytes.
    let o = xenmem(&["--scenario", d, "resource", "1", "--id", "shared"]);
    let s = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{s}");
    assert!(
        s.starts_with(
            "acquire_resource_size(d1, grant_table, id 0) = 32 frames\nframe 0 of d1 grant_table id 0:\n"
        ),
        "{s}"
    );
    assert!(s.ends_with("00001000\n"), "{s}");
    // The scenario's names work as well as ids.
    let o = xenmem(&["--scenario", d, "read-frame", "domU", "0", "--len", "16"]);
    assert!(text(&o.stdout).contains("|hello from dom0.|"), "{}", text(&o.stderr));
    // An unpopulated foreign GFN: the batch entry's -EINVAL (XEN-FACTS).
    let o = xenmem(&["--scenario", d, "read-frame", "1", "0x5000"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("-EINVAL (errno 22)"), "{}", text(&o.stdout));
}

#[test]
fn the_model_as_a_pv_dom0_agrees_with_real_xen() {
    // Real Xen's lines, recorded through privcmd by `cargo xtask linux-dom0 --xen X` (the
    // golden folder's README says how); the model is configured as that dom0 by the defaults,
    // and as that release by --xen.
    for (xen, other) in [("4.17", "4.20"), ("4.20", "4.17")] {
        let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../xenmem-conformance/golden/{xen}/x86_64-pv-dom0.txt"));
        let text_golden = std::fs::read_to_string(&golden).unwrap();
        let lines: String = text_golden
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                format!(
                    "{l}
"
                )
            })
            .collect();
        let n = lines.lines().count();
        let real = scenario(&format!("pv-dom0-real-{xen}.txt"), &lines);
        let o = xenmem(&["--xen", xen, "conformance", "--against", real.to_str().unwrap()]);
        let s = text(&o.stdout);
        assert_eq!(o.status.code(), Some(0), "{xen}: {s}");
        assert!(
            s.ends_with(&format!(
                "conformance (pv dom0, saved run vs model): {n} observations, {n} agree, 0 differ
"
            )),
            "{xen}: {s}"
        );
        // The other release's model tells them apart.
        let o = xenmem(&["--xen", other, "conformance", "--against", real.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "model as {other} vs real {xen}: {}", text(&o.stdout));
    }
}

#[test]
fn an_ioreq_served_in_a_scenario() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios/ioreq.toml");
    let o = xenmem(&["run", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("every expectation met"), "{table}");
    // The request dom0 took from the slot, and what the domU's vCPU got.
    assert!(
        table.contains("read 0x2a (server 0 answered); request: read 4 bytes at 0xfeb00000 (mmio)"),
        "{table}"
    );
    assert!(table.contains("ioreq server 0 frame 1 (of domU (d1))"), "{table}");
    let o = xenmem(&["run", p.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let steps = v["steps"].as_array().unwrap();
    let served: Vec<&serde_json::Value> =
        steps.iter().filter(|s| s["op"] == "guest_access" && !s["answer"]["request"].is_null()).collect();
    assert_eq!(served.len(), 3, "the read, the write and the crashing answer reach dom0");
    let read = &served[0]["answer"];
    assert_eq!(
        (read["outcome"].as_str(), read["value"].as_u64(), read["server"].as_u64()),
        (Some("done"), Some(0x2a), Some(0))
    );
    let req = &read["request"];
    assert_eq!(
        (req["addr"].as_u64(), req["size"].as_u64(), req["dir"].as_str()),
        (Some(0xfeb0_0000), Some(4), Some("read"))
    );
    let write = &served[1]["answer"]["request"];
    assert_eq!((write["dir"].as_str(), write["data"].as_u64()), (Some("write"), Some(0xbeef)));
    assert_eq!(served[2]["answer"]["outcome"], "crashed");
    let bind = steps.iter().find(|s| s["op"] == "bind_interdomain").unwrap();
    assert_eq!(bind["answer"]["result"], "port");
}

#[test]
fn an_emulator_that_did_not_bind_leaves_the_guest_waiting() {
    let body = format!(
        "{MACHINE}kind = \"pvh\"\n\n[[step]]\nby = \"dom0\"\nop = \"create_ioreq_server\"\ndomid = \"guest\"\nexpect = 0\n\n\
         [[step]]\nby = \"dom0\"\nop = \"acquire_resource\"\ndomid = \"guest\"\ntype = \"ioreq_server\"\nframe = 1\ngfn = 0x9000\n\n\
         [[step]]\nby = \"dom0\"\nop = \"map_io_range\"\ndomid = \"guest\"\nrange = \"port\"\nstart = 0x3f8\nend = 0x3ff\n\n\
         [[step]]\nby = \"dom0\"\nop = \"set_ioreq_server_state\"\ndomid = \"guest\"\n\n\
         [[step]]\nby = \"guest\"\nop = \"guest_access\"\nspace = \"port\"\naddr = 0x3f8\nsize = 1\nwrite = 0x41\nexpect = \"waiting\"\n\n\
         [[step]]\nby = \"guest\"\nop = \"guest_access\"\nspace = \"port\"\naddr = 0x3f8\nsize = 3\n"
    );
    // The last step's size is refused before anything runs.
    refused("ioreq-size.toml", &body, 57, "size", "1, 2, 4 or 8 bytes");
    let body = body.rsplit_once("\n\n[[step]]").unwrap().0.to_string() + "\n";
    let p = scenario("ioreq-unbound.toml", &body);
    let o = xenmem(&["run", p.to_str().unwrap()]);
    let table = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{table}{}", text(&o.stderr));
    assert!(
        table.contains("waiting for server 0; request: write 0x41, 1 bytes at 0x3f8 (port) (the emulator bound no port to the slot's vp_eport)"),
        "{table}"
    );
}
