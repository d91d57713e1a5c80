using Akka.Persistence;
using Akka.Persistence.TestKit;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Holds the first write whose payload matches until <c>Gate</c> completes, then rejects it (nothing stored) or fails
/// it (the journal reports an error); every other write passes. The gate lets a test queue commands behind a write
/// that is provably still in flight, with no sleeps.
/// </summary>
public sealed class GatedFirstWrite(Func<object, bool> matches, bool reject) : IJournalInterceptor
{
    private int _taken;

    public TaskCompletionSource Gate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the held write has reached the journal.</summary>
    public TaskCompletionSource Held { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async Task InterceptAsync(IPersistentRepresentation message)
    {
        if (!matches(message.Payload) || Interlocked.Exchange(ref _taken, 1) == 1)
            return;
        Held.TrySetResult();
        await Gate.Task;
        if (reject)
            throw new TestJournalRejectionException("attack: the journal rejects this write (e.g. it cannot be serialized)");
        throw new TestJournalFailureException("attack: the journal connection dropped during this write");
    }
}
