import Testing

@testable import DFSS3

@Suite struct S3DocumentsRequestsTests {
    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// The error `parse` throws; fails the test when it succeeds.
    func refusal<Value>(_ parse: () throws(S3Error) -> Value, sourceLocation: SourceLocation = #_sourceLocation) -> S3Error? {
        do {
            _ = try parse()
            Issue.record("accepted", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    // MARK: CompleteMultipartUpload

    @Test func readsCompleteMultipartUploadAsBotocoreSendsIt() throws {
        // botocore's serializer: the namespace, literal quotes around each ETag, no whitespace.
        let body =
            #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"3858f62230ac3c915f300c664312c11f"</ETag><PartNumber>1</PartNumber></Part><Part><ETag>"9b2cf535f27731c974343645a3985328"</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>"#
        let request = try CompleteMultipartUploadRequest.parse(bytes(body))
        #expect(request.parts.map(\.number) == [1, 2])
        #expect(request.parts.map(\.etag) == ["3858f62230ac3c915f300c664312c11f", "9b2cf535f27731c974343645a3985328"])
        #expect(request.parts.allSatisfy { $0.checksums.isEmpty })
    }

    @Test func readsCompleteMultipartUploadAsAWSDocumentsAndOtherSDKsWriteIt() throws {
        // The documentation's example: indented, no namespace, and checksums.
        let documented = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CompleteMultipartUpload>
              <Part>
                <PartNumber>1</PartNumber>
                <ETag>"a54357aff0632cce46d942af68356b38"</ETag>
                <ChecksumCRC32>  AAAAAA==  </ChecksumCRC32>
                <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>
              </Part>
              <Part>
                <PartNumber>3</PartNumber>
                <ETag>acbd18db4cc2f85cedef654fccc4a4d8</ETag>
              </Part>
            </CompleteMultipartUpload>
            """
        let request = try CompleteMultipartUploadRequest.parse(bytes(documented))
        #expect(request.parts.map(\.number) == [1, 3])
        #expect(request.parts.map(\.etag) == ["a54357aff0632cce46d942af68356b38", "acbd18db4cc2f85cedef654fccc4a4d8"])
        #expect(request.parts[0].checksums == ["CRC32": "AAAAAA==", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="])
        // Go's encoding/xml (rclone) writes quotes as &#34;, Java's as &quot;.
        let go =
            #"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;abc&#34;</ETag><PartNumber>7</PartNumber></Part></CompleteMultipartUpload>"#
        #expect(try CompleteMultipartUploadRequest.parse(bytes(go)).parts.map(\.etag) == ["abc"])
        let java = "<CompleteMultipartUpload><Part><PartNumber>10000</PartNumber><ETag>&quot;abc&quot;</ETag></Part></CompleteMultipartUpload>"
        #expect(try CompleteMultipartUploadRequest.parse(bytes(java)).parts.map(\.number) == [10000])
    }

    @Test func keepsThePartsInTheOrderGiven() throws {
        let body =
            "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>b</ETag></Part><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>"
        #expect(try CompleteMultipartUploadRequest.parse(bytes(body)).parts.map(\.number) == [2, 1])
    }

    @Test(arguments: ["0", "10001", "-1", "99999999999999999999999"])
    func partNumbersOutsideTheRangeAreInvalidArguments(number: String) {
        let body = "<CompleteMultipartUpload><Part><PartNumber>\(number)</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>"
        let error = refusal { () throws(S3Error) in try CompleteMultipartUploadRequest.parse(bytes(body)) }
        #expect(error?.code == "InvalidArgument")
        #expect(error?.status.code == 400)
        #expect(error?.fields == [S3Error.Field("ArgumentName", "partNumber"), S3Error.Field("ArgumentValue", number)])
    }

    @Test(arguments: [
        "", "not xml", "<CompleteMultipartUpload/>", "<CompleteMultipartUpload></CompleteMultipartUpload>",
        "<Complete><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></Complete>",
        "<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag></ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"\"</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1.5</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber></PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>",
        "<!DOCTYPE x><CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
    ])
    func malformedCompleteMultipartUploadIsMalformedXML(body: String) {
        let error = refusal { () throws(S3Error) in try CompleteMultipartUploadRequest.parse(bytes(body)) }
        #expect(error?.code == "MalformedXML")
        #expect(error?.status.code == 400)
    }

    @Test func acceptsTenThousandPartsAndRefusesOneMore() throws {
        func body(_ count: Int) -> [UInt8] {
            var text = "<CompleteMultipartUpload>"
            for number in 1...count { text += "<Part><PartNumber>\(min(number, 10000))</PartNumber><ETag>\"3858f62230ac3c915f300c664312c11f\"</ETag></Part>" }
            return bytes(text + "</CompleteMultipartUpload>")
        }
        #expect(try CompleteMultipartUploadRequest.parse(body(10000)).parts.count == 10000)
        #expect(refusal { () throws(S3Error) in try CompleteMultipartUploadRequest.parse(body(10001)) }?.code == "MalformedXML")
    }

    // MARK: Delete

    @Test func readsDeleteAsBotocoreSendsIt() throws {
        let body =
            #"<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a.txt</Key></Object><Object><Key> spaced key &amp; more </Key><VersionId>null</VersionId></Object><Quiet>true</Quiet></Delete>"#
        let request = try DeleteObjectsRequest.parse(bytes(body))
        #expect(request == DeleteObjectsRequest(quiet: true, keys: ["a.txt", " spaced key & more "]))
    }

    @Test func readsDeleteWithoutQuietAsNotQuiet() throws {
        let body = "<Delete>\n  <Object>\n    <Key>dir/ключ.txt</Key>\n  </Object>\n  <Quiet> False </Quiet>\n</Delete>"
        #expect(try DeleteObjectsRequest.parse(bytes(body)) == DeleteObjectsRequest(quiet: false, keys: ["dir/ключ.txt"]))
        #expect(try DeleteObjectsRequest.parse(bytes("<Delete><Object><Key>k</Key></Object></Delete>")).quiet == false)
    }

    @Test(arguments: [
        "", "<Delete></Delete>", "<Delete><Quiet>true</Quiet></Delete>", "<Delete><Object></Object></Delete>",
        "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>", "<Delete><Object><Key>a</Key></Object><Quiet>yes</Quiet></Delete>",
        "<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet><Quiet>false</Quiet></Delete>", "<Remove><Object><Key>a</Key></Object></Remove>",
        "<Delete><Object><Key>a</Key></Object>",
    ])
    func malformedDeleteIsMalformedXML(body: String) {
        #expect(refusal { () throws(S3Error) in try DeleteObjectsRequest.parse(bytes(body)) }?.code == "MalformedXML")
    }

    @Test func acceptsAThousandKeysAndRefusesOneMore() throws {
        func body(_ count: Int) -> [UInt8] {
            bytes("<Delete>" + (0..<count).map { "<Object><Key>key-\($0)</Key></Object>" }.joined() + "</Delete>")
        }
        let request = try DeleteObjectsRequest.parse(body(1000))
        #expect(request.keys.count == 1000)
        #expect(request.keys.last == "key-999")
        let error = refusal { () throws(S3Error) in try DeleteObjectsRequest.parse(body(1001)) }
        #expect(error?.code == "MalformedXML")
    }

    // MARK: CreateBucketConfiguration

    @Test func readsCreateBucketConfiguration() throws {
        let body =
            #"<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"#
        #expect(try CreateBucketConfiguration.parse(bytes(body)).locationConstraint == "eu-west-1")
        #expect(try CreateBucketConfiguration.parse([]).locationConstraint == nil)
        #expect(try CreateBucketConfiguration.parse(bytes(" \r\n")).locationConstraint == nil)
        #expect(try CreateBucketConfiguration.parse(bytes("<CreateBucketConfiguration/>")).locationConstraint == nil)
        let empty = "<CreateBucketConfiguration><LocationConstraint></LocationConstraint></CreateBucketConfiguration>"
        #expect(try CreateBucketConfiguration.parse(bytes(empty)).locationConstraint == nil)
    }

    @Test(arguments: [
        "x", "<Config><LocationConstraint>eu-west-1</LocationConstraint></Config>",
        "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint><LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
        "<CreateBucketConfiguration>",
    ])
    func malformedCreateBucketConfigurationIsMalformedXML(body: String) {
        #expect(refusal { () throws(S3Error) in try CreateBucketConfiguration.parse(bytes(body)) }?.code == "MalformedXML")
    }

    @Test func malformedXMLSaysWhatWasWrong() {
        let error = refusal { () throws(S3Error) in try DeleteObjectsRequest.parse(bytes("<Delete><Object><Key>a</Key></Object>")) }
        #expect(error?.message.contains("element <Delete> opened at byte 0 is not closed") == true)
    }
}
