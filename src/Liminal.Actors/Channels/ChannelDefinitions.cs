using Akka.Actor;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A channel created at run time, stored so it exists again after a restart.</summary>
public sealed record ChannelDefined(string Name, bool Durable, string? SchemaPath, int Partitions) : ILiminalEvent
{
    public ChannelDefinition ToDefinition() => new(Name, Durable, SchemaPath, Partitions);
}

/// <summary>The channels created at run time, as stored.</summary>
public sealed record ChannelDefinitionsSnapshot(ChannelDefined[] Channels) : ILiminalSnapshot;

internal sealed record StoreDefinition(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionStored(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionNotStored(ChannelDefinition Definition) : INoSerializationVerificationNeeded;

internal sealed record DefinitionsRecovered(IReadOnlyList<ChannelDefinition> Definitions) : INoSerializationVerificationNeeded;

/// <summary>
/// The durable list of channels created with <see cref="CreateChannel"/> (PersistenceId <c>channels-defined</c>);
/// tells its parent, the registry, what it recovered.
/// </summary>
internal sealed class ChannelDefinitions(long snapshotEvery) : GroupCommitActor<ChannelDefined>
{
    private readonly Dictionary<string, ChannelDefined> _durable = new(StringComparer.Ordinal);

    public static Props Props(long snapshotEvery) => Akka.Actor.Props.Create(() => new ChannelDefinitions(snapshotEvery));

    public override string PersistenceId => "channels-defined";

    protected override long SnapshotEvery => snapshotEvery;

    protected override void RestoreSnapshot(object snapshot)
    {
        foreach (var channel in ((ChannelDefinitionsSnapshot)snapshot).Channels)
            _durable[channel.Name] = channel;
    }

    protected override void ApplyDurable(ChannelDefined @event) => _durable[@event.Name] = @event;

    // The registry is the projection: it decides whether a name is taken.
    protected override void ApplyProjected(ChannelDefined @event) { }

    protected override object DurableSnapshot() => new ChannelDefinitionsSnapshot(_durable.Values.ToArray());

    protected override void OnRecovered() =>
        Context.Parent.Tell(new DefinitionsRecovered(_durable.Values.Select(c => c.ToDefinition()).ToList()));

    protected override void OnRequest(object message)
    {
        if (message is not StoreDefinition store)
        {
            Unhandled(message);
            return;
        }
        var d = store.Definition;
        Commit([new ChannelDefined(d.Name, d.Durable, d.SchemaPath, d.Partitions)], Sender, new DefinitionStored(d), new DefinitionNotStored(d));
    }
}
