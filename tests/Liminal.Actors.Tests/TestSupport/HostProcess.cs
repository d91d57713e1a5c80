using System.Collections.Concurrent;
using System.Diagnostics;

namespace Liminal.Actors.Tests.TestSupport;

/// <summary>The host as a separate process (<c>Liminal.Host.dll</c> beside the tests), its output kept.</summary>
internal sealed class HostProcess(string workingDirectory, string[] args, IReadOnlyDictionary<string, string> environment) : IDisposable
{
    public int HealthPort => int.Parse(environment["LIMINAL__HOST__HEALTH_PORT"]);

    public int RemotePort => int.Parse(environment["LIMINAL__HOST__REMOTE__PORT"]);

    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private Process? _process;

    /// <summary>The lines written to standard output so far.</summary>
    public IReadOnlyList<string> Output => _output.ToList();

    /// <summary>The lines written to standard error so far.</summary>
    public IReadOnlyList<string> Errors => _errors.ToList();

    public void Start()
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Liminal.Host.dll"), .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, line) => { if (line.Data is { } data) _output.Enqueue(data); };
        _process.ErrorDataReceived += (_, line) => { if (line.Data is { } data) _errors.Enqueue(data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    /// <summary>Runs the host until it exits by itself (a configuration it refuses); returns its exit code.</summary>
    public int RunToExit()
    {
        Start();
        if (!_process!.WaitForExit(TimeSpan.FromSeconds(60)))
            throw new TimeoutException($"the host did not exit; it wrote:\n{string.Join('\n', Output.Concat(Errors))}");
        _process.WaitForExit();   // the output read to its end
        return _process.ExitCode;
    }

    public async Task WaitUntilReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HealthPort}"), Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync("/ready")).IsSuccessStatusCode)
                    return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (DateTime.UtcNow > deadline || _process!.HasExited)
                throw new TimeoutException($"the host did not become ready; it wrote:\n{string.Join('\n', Output.Concat(Errors))}");
            await Task.Delay(100);   // polling a readiness endpoint, not waiting for a result
        }
    }

    /// <summary>SIGTERM: the host drains and stops; returns its exit code.</summary>
    public int Terminate()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process!.Id.ToString()]))
            kill.WaitForExit();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
            throw new TimeoutException("the host did not stop after SIGTERM");
        _process.WaitForExit();   // the output read to its end
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no drain.</summary>
    public void Kill()
    {
        _process!.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (_process is { HasExited: false })
            Kill();
    }
}
