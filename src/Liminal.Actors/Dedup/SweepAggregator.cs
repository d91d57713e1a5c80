using Akka.Actor;

namespace Liminal.Actors.Dedup;

/// <summary>Collects one sweep answer per shard and replies a single total (or the first failure) to the requester.</summary>
internal sealed class SweepAggregator : ReceiveActor
{
    private int _awaiting;
    private SweepReport _total = new(0, 0, 0);
    private readonly List<string> _failures = [];

    public SweepAggregator(IActorRef requester, int shards)
    {
        _awaiting = shards;
        // A shard that never answers must not leave the requester waiting forever.
        SetReceiveTimeout(TimeSpan.FromSeconds(30));
        Receive<ReceiveTimeout>(_ =>
        {
            requester.Tell(new SweepFailed($"{_awaiting} shard(s) did not answer the sweep"));
            Context.Stop(Self);
        });
        Receive<SweepReport>(report =>
        {
            _total = new SweepReport(_total.Scanned + report.Scanned, _total.Expired + report.Expired, _total.Retained + report.Retained);
            Answered(requester);
        });
        Receive<SweepFailed>(failed =>
        {
            _failures.Add(failed.Detail);
            Answered(requester);
        });
    }

    public static Props Props(IActorRef requester, int shards) =>
        Akka.Actor.Props.Create(() => new SweepAggregator(requester, shards));

    private void Answered(IActorRef requester)
    {
        if (--_awaiting > 0)
            return;
        requester.Tell(_failures.Count == 0 ? _total : new SweepFailed(string.Join("; ", _failures.Distinct())));
        Context.Stop(Self);
    }
}
