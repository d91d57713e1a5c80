using System.Reflection;
using Liminal.Client;

namespace Liminal.Actors.Tests.Contracts;

/// <summary>
/// A remote client takes the protocol, not the server: <c>Liminal.Client</c> is built against <c>Liminal.Contracts</c>
/// (and Akka) alone, so it brings no SQLite, PostgreSQL, linq2db or JSON Schema library along.
/// <see cref="Host.RemoteClientSpecs"/> shows such a client talking to the host.
/// </summary>
public sealed class ClientDependencySpecs
{
    private static readonly string[] ServerAssemblies =
        ["Liminal.Actors", "Liminal.Persistence.Sqlite", "Liminal.Host", "Microsoft.Data.Sqlite", "Npgsql", "linq2db", "NJsonSchema", "Akka.Persistence", "Akka.Persistence.Sql"];

    private static string[] References(Assembly assembly) => assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();

    [Fact]
    public void Liminal_Client_references_Liminal_Contracts_and_no_assembly_of_the_server()
    {
        var references = References(typeof(LiminalClient).Assembly);

        Assert.Contains("Liminal.Contracts", references);
        Assert.Empty(references.Intersect(ServerAssemblies));
    }

    [Fact]
    public void Liminal_Contracts_references_Akka_and_no_assembly_of_the_server()
    {
        var references = References(typeof(ILiminalMessage).Assembly);

        Assert.Contains("Akka", references);
        Assert.DoesNotContain(references, r => r.StartsWith("Liminal.", StringComparison.Ordinal));
        Assert.Empty(references.Intersect(ServerAssemblies));
    }

    [Fact]
    public void The_protocol_the_client_sends_is_defined_in_Liminal_Contracts()
    {
        Assert.Equal("Liminal.Contracts", typeof(LiminalBus).Assembly.GetName().Name);
        Assert.Equal("Liminal.Contracts", typeof(Liminal.Actors.Channels.Publish).Assembly.GetName().Name);
        Assert.Equal("Liminal.Contracts", typeof(Liminal.Actors.Validation.RequestValidation).Assembly.GetName().Name);
        Assert.Equal("Liminal.Contracts", typeof(LiminalWireSerializer).Assembly.GetName().Name);
    }
}
