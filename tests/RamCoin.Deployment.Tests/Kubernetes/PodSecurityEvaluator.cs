using k8s.Models;

namespace RamCoin.Tests.Kubernetes;

/// <summary>
/// The Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards) that the namespaces'
/// <c>pod-security.kubernetes.io/enforce</c> labels make the API server apply, small enough to read: what a pod spec
/// breaks at <c>baseline</c> or <c>restricted</c>. (Windows and AppArmor rules are left out: nothing here uses them.)
/// </summary>
public static class PodSecurityEvaluator
{
    private static readonly HashSet<string> BaselineCapabilities =
        ["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"];

    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
    ];

    /// <summary>Every rule <paramref name="spec"/> breaks at <paramref name="level"/> ("baseline" or "restricted"); empty when it complies.</summary>
    public static List<string> Violations(V1PodSpec spec, string level)
    {
        if (level is not ("baseline" or "restricted"))
        {
            throw new ArgumentException($"unknown Pod Security level {level}", nameof(level));
        }

        var found = new List<string>();
        var containers = spec.Containers.Concat(spec.InitContainers ?? []).ToList();
        var pod = spec.SecurityContext;

        // Baseline: no host namespaces, host paths or ports, privileged containers, extra capabilities or unsafe sysctls.
        if (spec.HostNetwork == true || spec.HostPID == true || spec.HostIPC == true)
        {
            found.Add("host namespaces");
        }

        found.AddRange((spec.Volumes ?? []).Where(v => v.HostPath is not null).Select(v => $"hostPath volume {v.Name}"));
        found.AddRange((pod?.Sysctls ?? []).Where(s => !SafeSysctls.Contains(s.Name)).Select(s => $"sysctl {s.Name}"));
        if (pod?.SeccompProfile?.Type == "Unconfined")
        {
            found.Add("pod seccomp Unconfined");
        }

        foreach (var c in containers)
        {
            var security = c.SecurityContext;
            if (security?.Privileged == true)
            {
                found.Add($"{c.Name}: privileged");
            }

            found.AddRange((security?.Capabilities?.Add ?? []).Where(a => !BaselineCapabilities.Contains(a)).Select(a => $"{c.Name}: adds capability {a}"));
            found.AddRange((c.Ports ?? []).Where(p => p.HostPort is > 0).Select(p => $"{c.Name}: hostPort {p.HostPort}"));
            if (security?.SeccompProfile?.Type == "Unconfined")
            {
                found.Add($"{c.Name}: seccomp Unconfined");
            }

            if (security?.ProcMount is { } procMount && procMount != "Default")
            {
                found.Add($"{c.Name}: procMount {procMount}");
            }
        }

        if (level == "baseline")
        {
            return found;
        }

        // Restricted adds: known volume types only, no privilege escalation, non-root, a seccomp profile, all
        // capabilities dropped (NET_BIND_SERVICE may come back).
        found.AddRange((spec.Volumes ?? [])
            .Where(v => v.ConfigMap is null && v.EmptyDir is null && v.Projected is null && v.Secret is null && v.DownwardAPI is null
                && v.PersistentVolumeClaim is null && v.Ephemeral is null && v.Csi is null)
            .Select(v => $"volume {v.Name} of a kind restricted forbids"));
        foreach (var c in containers)
        {
            var security = c.SecurityContext;
            if (security?.AllowPrivilegeEscalation != false)
            {
                found.Add($"{c.Name}: allowPrivilegeEscalation is not false");
            }

            if ((security?.RunAsNonRoot ?? pod?.RunAsNonRoot) != true)
            {
                found.Add($"{c.Name}: runAsNonRoot is not true");
            }

            if ((security?.RunAsUser ?? pod?.RunAsUser) == 0)
            {
                found.Add($"{c.Name}: runAsUser 0");
            }

            if ((security?.SeccompProfile?.Type ?? pod?.SeccompProfile?.Type) is not ("RuntimeDefault" or "Localhost"))
            {
                found.Add($"{c.Name}: no RuntimeDefault or Localhost seccomp profile");
            }

            if (security?.Capabilities?.Drop?.Contains("ALL") != true)
            {
                found.Add($"{c.Name}: capabilities not all dropped");
            }

            found.AddRange((security?.Capabilities?.Add ?? []).Where(a => a != "NET_BIND_SERVICE").Select(a => $"{c.Name}: adds capability {a} (restricted)"));
        }

        return found;
    }
}
