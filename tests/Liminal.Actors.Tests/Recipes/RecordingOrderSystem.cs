using Liminal.Recipes;

namespace Liminal.Actors.Tests.Recipes;

/// <summary>Where a crash of the bus is set off, relative to the side effect of a step.</summary>
public enum CrashPoint
{
    /// <summary>Once a step has called the order system: whatever the bus was doing at that moment.</summary>
    Anywhere,

    /// <summary>While a step calls the order system, before the effect is applied.</summary>
    BeforeEffect,

    /// <summary>After a step's effect is applied and before the step returns, so its output is never recorded.</summary>
    AfterEffect,
}

/// <summary>
/// The test-owned system the recipe's steps act on. Like a database with a unique key, it applies each idempotency
/// key once; it also remembers every call with the run of the bus that made it, refuses calls from a run that has
/// crashed (that process is dead), and sets off one crash at a time at a chosen call.
/// </summary>
public sealed class RecordingOrderSystem
{
    private readonly object _gate = new();
    private readonly HashSet<string> _applied = [];
    private readonly List<(string Key, int Run)> _calls = [];
    private int _run;
    private (CrashPoint Point, int AtCall, TaskCompletionSource Sprung)? _trap;
    private TaskCompletionSource _crashed = NewSignal();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The order system as the current run of the bus calls it.</summary>
    public IOrderSystem ForCurrentRun()
    {
        lock (_gate)
            return new Caller(this, _run);
    }

    /// <summary>Effects applied, once each.</summary>
    public IReadOnlySet<string> Applied
    {
        get { lock (_gate) return _applied.ToHashSet(); }
    }

    public IReadOnlyList<(string Key, int Run)> Calls
    {
        get { lock (_gate) return _calls.ToList(); }
    }

    /// <summary>Sets off a crash at the <paramref name="callsFromNow"/>-th call from now; the task completes when it is due.</summary>
    public Task Arm(CrashPoint point, int callsFromNow)
    {
        lock (_gate)
        {
            var sprung = NewSignal();
            _trap = (point, _calls.Count + callsFromNow, sprung);
            return sprung.Task;
        }
    }

    /// <summary>The current run is dead: its later calls are refused, and calls held at a crash point fail.</summary>
    public void Crash()
    {
        TaskCompletionSource crashed;
        lock (_gate)
        {
            _run++;
            _trap = null;
            crashed = _crashed;
            _crashed = NewSignal();
        }
        crashed.TrySetResult();
    }

    private async Task<byte[]> CallAsync(int run, string key, byte[] input)
    {
        CrashPoint? held = null;
        Task crashed;
        lock (_gate)
        {
            if (run != _run)
                throw new OperationCanceledException($"run {run} of the bus has crashed");
            _calls.Add((key, run));
            if (_trap is { } trap && _calls.Count == trap.AtCall)
            {
                _trap = null;
                if (trap.Point != CrashPoint.Anywhere)
                    held = trap.Point;
                trap.Sprung.TrySetResult();
            }
            if (held != CrashPoint.BeforeEffect)
                _applied.Add(key);
            crashed = _crashed.Task;
        }
        if (held is not null)
        {
            await crashed;
            throw new OperationCanceledException($"run {run} of the bus crashed during {key}");
        }
        return input;
    }

    private sealed class Caller(RecordingOrderSystem system, int run) : IOrderSystem
    {
        public Task<byte[]> ReserveAsync(byte[] order, string idempotencyKey, CancellationToken cancellationToken) =>
            system.CallAsync(run, idempotencyKey, order);

        public Task<byte[]> NotifyAsync(byte[] reservation, string idempotencyKey, CancellationToken cancellationToken) =>
            system.CallAsync(run, idempotencyKey, reservation);
    }
}
