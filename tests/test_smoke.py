import httpx


async def test_profile_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/@alice")
    assert response.status_code == 200
    assert "@alice@solo.test" in response.text
