using Akka.Actor;
using Liminal.Actors.Entities;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Dedup;

/// <summary>
/// The actor behind <c>LiminalBus.Dedup</c>: rejects malformed requests (<see cref="RequestValidation.Dedup"/>), routes every key to its shard by a stable
/// hash, and fans <see cref="SweepExpired"/> out to all shards. All shards start with it, so each one's
/// periodic sweep runs even if no key of that shard has been touched since the process started.
/// </summary>
public sealed class DedupKeySpace : EntityParent
{
    private readonly DedupShardSettings _shardSettings;
    private readonly int _shards;

    public DedupKeySpace(DedupShardSettings shardSettings, int shards, EntityParentSettings parentSettings)
        : base(new DedupMessageExtractor(shards), parentSettings, shardSettings.Clock)
    {
        _shardSettings = shardSettings;
        _shards = shards;
    }

    public static Props Props(DedupShardSettings shardSettings, int shards, EntityParentSettings parentSettings) =>
        Akka.Actor.Props.Create(() => new DedupKeySpace(shardSettings, shards, parentSettings));

    protected override void PreStart()
    {
        base.PreStart();
        StartEntities(Enumerable.Range(0, _shards).Select(ShardId));
    }

    protected override Props EntityProps(string entityId) => DedupShard.Props(_shardSettings, int.Parse(entityId));

    protected override object? Overloaded(object message) => message switch
    {
        IDedupKeyCommand keyed => new DedupRejected(keyed.Key, DedupRejection.Overloaded) { Detail = "shard restarting; retry later" },
        SweepExpired => new SweepFailed("shard restarting; retry later"),
        _ => null,
    };

    protected override void OnNonEntityMessage(object message)
    {
        switch (message)
        {
            case IDedupKeyCommand invalid:
                Sender.Tell(RequestValidation.Dedup(invalid)!);
                break;
            case SweepExpired sweep:
                var aggregator = Context.ActorOf(SweepAggregator.Props(Sender, _shards));
                for (var shard = 0; shard < _shards; shard++)
                    Deliver(ShardId(shard), sweep, aggregator);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    internal static string ShardId(int shard) => shard.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class DedupMessageExtractor(int shards) : IEntityMessageExtractor
    {
        public string? EntityId(object message) =>
            message is IDedupKeyCommand command && RequestValidation.Dedup(command) is null
                ? ShardId(DedupKeys.ShardOf(command.Key, shards))
                : null;

        public object EntityMessage(object message) => message;
    }
}
