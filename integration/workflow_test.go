//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// workflowInputs reads the `with:` block of the step that uses the Action
// from the checkout (`uses: ./`) in the project's GitHub workflow.
func workflowInputs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".github", "workflows", "ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	in := map[string]string{}
	for i, l := range lines {
		if strings.TrimSpace(l) != "uses: ./" {
			continue
		}
		indent := len(l) - len(strings.TrimLeft(l, " "))
		j := i + 1
		if j >= len(lines) || strings.TrimSpace(lines[j]) != "with:" {
			t.Fatalf("ci.yml: the uses: ./ step has no with: block")
		}
		for j++; j < len(lines); j++ {
			kv := lines[j]
			if len(kv)-len(strings.TrimLeft(kv, " ")) <= indent || strings.TrimSpace(kv) == "" {
				break
			}
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ": ")
			if !ok {
				t.Fatalf("ci.yml: cannot read %q", kv)
			}
			in[k] = v
		}
		return in
	}
	t.Fatal("ci.yml has no step with uses: ./")
	return nil
}

// Issue 13: the project's GitHub workflow uses the Action from the
// checkout. Its action job is run here step by step: the se lab, `lab.sh
// attach se` from a namespace standing for the job's container, the
// Action's main with exactly the workflow's inputs (as the runner passes
// them, INPUT_*), ping to the service, and post, which must leave the
// namespace as it was.
func TestWorkflowActionJob(t *testing.T) {
	labSE.up(t)
	const ns = "l2v-gh-job"
	exec.Command("ip", "netns", "del", ns).Run() // a killed earlier run's
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	if out, err := inNS(ns, "ip", "link", "set", "lo", "up"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := inNS(ns, filepath.Join(root, "scripts", "lab.sh"), "attach", "se"); err != nil || !strings.Contains(out, "attached") {
		t.Fatalf("lab.sh attach se: %v\n%s", err, out)
	}
	before := hostState(t, ns)
	in := workflowInputs(t)
	if in["server"] != "192.0.2.241" {
		t.Fatalf("the workflow's server is %q, not the attached se lab", in["server"])
	}
	var env []string
	for k, v := range in {
		env = append(env, "INPUT_"+strings.ToUpper(k)+"="+v)
	}
	r := newRunner(t)
	out, code := r.node(t, ns, "main.js", env...)
	if code != 0 {
		t.Fatalf("main with the workflow's inputs: exit %d\n%s", code, out)
	}
	if o := fileCommands(t, r.output); !strings.HasPrefix(o["ip"], "198.51.100.") {
		t.Errorf("outputs: %q", o)
	}
	pingOnce(t, ns, labSE.service)
	if out, code := r.post(t, ns); code != 0 {
		t.Fatalf("post: exit %d\n%s", code, out)
	}
	if after := hostState(t, ns); after != before {
		t.Errorf("post did not restore the job's namespace:\nbefore %s\nafter %s", before, after)
	}
}
